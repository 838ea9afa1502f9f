import { packageTestConfig } from '../../tools/vitest-package';

export default packageTestConfig(120_000);
