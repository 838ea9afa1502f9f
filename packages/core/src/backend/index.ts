export { initBackend, activeBackend, shutdownBackend, autoOrder, BackendError, BACKEND_ORDER, BACKEND_ENV, THREADS_ENV } from './select';
export type { BackendName, BackendInfo } from './select';
export { registerTrainingKernels } from './kernels/register';
