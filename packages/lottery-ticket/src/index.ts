export { ticketChart, TicketChartError, type TicketPoint } from './chart';
export { METHOD, oneShotShare, randomInitSeed, runTicketExperiment, type TicketInit, type TicketOptions, type TicketRow } from './experiment';
export { runTicketGrid, ticketsBase, type TicketGridOptions } from './grid';
export { chartPoints, TICKET_COLUMNS, ticketsCsv, ticketsMarkdown } from './results';
export { convSparsity, filterMasks, nextRoundMasks, rewind } from './ticket';
export { DEFAULT_RATE, defaultLearningRates, defaultRounds, defaultTicketVariants, TICKET_VARIANTS, ticketVariant, type TicketVariant } from './variants';
export { runTicketCli } from './cli';
