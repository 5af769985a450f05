import type DataLoader from 'dataloader';
import type { BaseContext } from '../../../shared/service/subgraph-service.ts';
import type { UserProfile } from './domain/user-reads.store.ts';
import type { TokenIssuer } from './domain/tokens.ts';

export interface UsersContext extends BaseContext {
  readonly users: DataLoader<string, UserProfile | null>;
  readonly tokens: TokenIssuer;
  /** Set by register/login: the account this request has just signed in as. */
  readonly session: { signedInUserId?: string };
}
