import { packageTestConfig } from '../../tools/vitest-package';

export default packageTestConfig(300_000);
