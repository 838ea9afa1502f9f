/**
 * The stage graph of every experiment, as data: what each stage needs and whether it runs once per model (the
 * baseline its variants share), per variant, or once per grid. The experiment runner, the Nx plugin's stage targets
 * (tools/method-stages, which reads this file without a build, so it imports nothing) and the queue's job graph all
 * read it.
 *
 *   baseline → prune → finetune | scratch-e → scratch-b → report
 *
 * Scratch-B follows Scratch-E: it trains as Scratch-E until their LR schedules part, and starts from the state
 * Scratch-E kept there (train/shared-start.ts) rather than training those epochs again.
 */
export const STAGE_GRAPH = [
  { name: 'baseline', needs: [], per: 'model', description: 'Train the unpruned baseline models.' },
  { name: 'prune', needs: ['baseline'], per: 'variant', description: 'Prune each trained baseline.' },
  { name: 'finetune', needs: ['prune'], per: 'variant', description: 'Fine-tune the pruned models.' },
  { name: 'scratch-e', needs: ['prune'], per: 'variant',
    description: 'Train the pruned architectures from scratch for the baseline epochs (Scratch-E).' },
  { name: 'scratch-b', needs: ['scratch-e'], per: 'variant',
    description: 'Train the pruned architectures from scratch on the baseline FLOPs budget (Scratch-B).' },
  { name: 'report', needs: ['finetune', 'scratch-e', 'scratch-b'], per: 'grid',
    description: 'Run every stage and write the results table.' },
] as const;

export type GraphStage = (typeof STAGE_GRAPH)[number]['name'];
/** A stage that trains or prunes (all but the report). */
export type StageName = Exclude<GraphStage, 'report'>;
/** A stage that trains a model. */
export type TrainedStage = Exclude<StageName, 'prune'>;

/** The stages of one experiment, in order (the report is the grid's). */
export const STAGES = STAGE_GRAPH.filter((s) => s.per !== 'grid').map((s) => s.name) as StageName[];

/** What `stage` needs, as the graph says. */
export const stageNeeds = (stage: GraphStage): readonly GraphStage[] =>
  STAGE_GRAPH.find((s) => s.name === stage)!.needs;
