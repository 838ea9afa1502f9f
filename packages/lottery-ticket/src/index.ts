export { ticketChart, TicketChartError, type TicketInit, type TicketPoint } from './chart';
export { lotteryMethod, oneShotShare } from './method';
export { chartPoints, ticketsMarkdown } from './results';
export { convSparsity, filterMasks, nextRoundMasks, rewind } from './ticket';
export { DEFAULT_RATE, defaultLearningRates, defaultTicketVariants, ticketRounds, TICKET_VARIANTS, type TicketVariant } from './variants';
export { lotteryModels } from './models';
