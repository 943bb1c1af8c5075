/** scoreline's public API. The client lives at 'scoreline/client'. */
export type {
  AnyScoreModule,
  InitContext,
  Logger,
  RawScoreModule,
  RequestSchema,
  RunContext,
  ScoreModule,
} from './frontend/worker/score-module';
export * from './errors';
