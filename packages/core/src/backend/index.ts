export { initBackend, activeBackend, shutdownBackend, autoOrder, BackendError, BACKEND_ORDER, BACKEND_ENV, THREADS_ENV } from './select';
export type { BackendName, BackendInfo, InitOptions } from './select';
export { AUTO_ENV, CACHE_ENV, chooseByMeasurement, describeChoice, type AutoChoice, type AutoPath } from './auto-choice';
export { registerTrainingKernels } from './kernels/register';
