// Types for mcp-oauth-wasm/testing.
import type { StorageBackend, Tokens } from './mcp-oauth.js';

export interface TestStorage {
  /** Pass this as createClient's storage. */
  storage: StorageBackend;
  /** Store tokens for an MCP server as the engine would (expires_at in seconds since the epoch). */
  seedTokens(mcpUrl: string, tokens: Partial<Tokens> & { access_token: string; issuer: string }): void;
  /** The tokens stored for an MCP server, or null. */
  tokens(mcpUrl: string): Tokens | null;
  /** Every stored record, by key. */
  dump(): Record<string, string>;
}

/** A storage backend of one client's own that the test seeds and reads. */
export declare function testStorage(options?: { prefix?: string }): TestStorage;

export interface FormSelectors { login: string; password: string; consent: string }
export declare const OIDC_PROVIDER_FORMS: Readonly<FormSelectors>;

/** The part of a Playwright or Puppeteer Page that signInWithForms uses. */
export interface DriverPage {
  waitForSelector(selector: string, options?: { timeout?: number }): Promise<unknown>;
  type(selector: string, text: string): Promise<unknown>;
  click(selector: string): Promise<unknown>;
  waitForNavigation(options?: { timeout?: number }): Promise<unknown>;
}

/** Fills an authorization server's login form (if shown) and approves consent, in the popup or (redirect mode) the page. */
export declare function signInWithForms(page: DriverPage, options?: { login?: string; password?: string; forms?: FormSelectors; timeoutMs?: number }): Promise<void>;
