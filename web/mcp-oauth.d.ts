// Types for mcp-oauth.js, the browser API of mcp-oauth-wasm.

/** Error codes (stable). */
export type McpOAuthErrorCode =
  | 'invalid_config' | 'insecure_url' | 'network_error' | 'discovery_failed'
  | 'metadata_invalid' | 'issuer_mismatch' | 'pkce_unsupported'
  | 'registration_failed' | 'registration_unsupported' | 'client_not_found'
  | 'popup_blocked' | 'popup_closed' | 'timeout' | 'aborted' | 'access_denied'
  | 'authorization_error' | 'state_mismatch' | 'invalid_grant' | 'token_error'
  | 'insufficient_scope' | 'auth_required' | 'storage_error';

/** Every rejection and throw of this module. */
export declare class McpOAuthError extends Error {
  readonly name: 'McpOAuthError';
  readonly code: McpOAuthErrorCode;
  /** The server's OAuth "error", when it sent one. */
  readonly oauthError?: string;
  /** The server's "error_description": text chosen by the server; show it as text, never as HTML. */
  readonly oauthErrorDescription?: string;
  /** HTTP status of the response that caused the error, when there was one. */
  readonly status?: number;
}

/** Stored tokens. expires_at and issued_at are seconds since the Unix epoch. */
export interface Tokens {
  access_token: string;
  token_type: 'Bearer';
  refresh_token?: string;
  scope?: string;
  expires_at?: number;
  issued_at?: number;
  /** The authorization server that issued them. */
  issuer: string;
  /** The RFC 8707 resource they were requested for. */
  resource?: string;
  client_id?: string;
  requested_scope?: string;
}

/** A client registration at one authorization server. */
export interface ClientInfo {
  client_id: string;
  client_secret?: string;
  client_secret_expires_at?: number;
  token_endpoint_auth_method?: 'none' | 'client_secret_post' | 'client_secret_basic';
  redirect_uris?: string[];
  scope?: string;
  issuer: string;
  source?: 'registered' | 'static' | 'metadata_document';
}

/** A storage backend: localStorage's shape; methods may return Promises. */
export interface StorageBackend {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** Function mode: show the authorization URL (an extension's launchWebAuthFlow, a test) and resolve with the full callback URL. */
export type AuthorizationHandler = (authorizationUrl: string, options: { signal: AbortSignal; state: string; redirectUri: string }) => Promise<string>;

export interface ClientOptions {
  /** The MCP server's endpoint. Required. */
  mcpUrl: string;
  /** Receives the authorization response; same origin as the page for popup and redirect modes. Required. */
  redirectUri: string;
  /** 'popup' (default), 'redirect', or a function. */
  mode?: 'popup' | 'redirect' | AuthorizationHandler;
  /** Requested instead of the spec's choice (challenge scope, then the server's scopes_supported). */
  scopes?: string[];
  /** client_name for Dynamic Client Registration. */
  clientName?: string;
  /** This app's Client ID Metadata Document URL (https, with a path). */
  clientMetadataUrl?: string;
  /** A pre-registered client. Its id and secret are only ever sent to one authorization server: clientIssuer, else the first one they were used with (an MCP server that later names another gets invalid_config). */
  clientId?: string;
  clientSecret?: string;
  /** The issuer that clientId belongs to. */
  clientIssuer?: string;
  /** Refuse every authorization response without an RFC 9207 `iss` (the mix-up defence that holds when an attacker can register clients at the honest authorization server). Default false: then signing in at a server that does not advertise `iss` emits a `warning`. */
  requireIssuerParameter?: boolean;
  /** Merged into the registration request. */
  additionalClientMetadata?: Record<string, unknown>;
  /** 'localStorage' (default), 'sessionStorage', 'memory', or your own backend. */
  storage?: 'localStorage' | 'sessionStorage' | 'memory' | StorageBackend;
  /** When the chosen Web Storage is unavailable (blocked, private mode), use memory instead of failing with storage_error. Default false. */
  storageFallbackToMemory?: boolean;
  /** Prefix of every storage key. Default 'mcp-oauth'. */
  storageKeyPrefix?: string;
  popup?: { width?: number; height?: number; timeoutMs?: number };
}

export interface AuthorizeOptions {
  signal?: AbortSignal;
  /** Redirect mode: where to come back to afterwards (same origin only). Default: the current URL. */
  returnTo?: string;
}

export type ProgressStep = 'discovery' | 'registration' | 'authorization' | 'token' | 'refresh';
export interface ProgressDetail { step: ProgressStep; mcpUrl: string; issuer?: string; detail?: string }

export interface ClientStorage {
  getTokens(): Promise<Tokens | null>;
  setTokens(tokens: Tokens): Promise<void>;
  getClientInfo(): Promise<ClientInfo | null>;
  setClientInfo(clientInfo: ClientInfo): Promise<void>;
  clear(): Promise<void>;
}

export interface McpOAuthClient extends EventTarget {
  readonly mcpUrl: string;
  /** Popup: resolves with the tokens. Redirect: navigates away (the promise does not settle). */
  authorize(options?: AuthorizeOptions): Promise<Tokens>;
  /** A valid access token, refreshed when (nearly) expired; rejects auth_required when only a sign-in can help. */
  getAccessToken(): Promise<string>;
  /** fetch with the Bearer token for this MCP server; 401 → sign in, 403 insufficient_scope → step-up. Bodies (SSE included) are untouched. Bound: pass it around freely. */
  fetch: typeof fetch;
  readonly storage: ClientStorage;
  /** Forget tokens, registration and discovery results for this server. */
  clear(): Promise<void>;
  addEventListener(type: 'progress', listener: (e: CustomEvent<ProgressDetail>) => void): void;
  addEventListener(type: 'tokenchange', listener: (e: CustomEvent<Tokens | null>) => void): void;
  /** Something the engine recovered from, or a security property the server does not give (e.g. no RFC 9207 iss). */
  addEventListener(type: 'warning', listener: (e: CustomEvent<{ code: McpOAuthErrorCode; message: string }>) => void): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void;
}

export interface RedirectResult { mcpUrl: string; tokens: Tokens; returnTo: string }

export interface McpOAuth {
  readonly version: string;
  checkIfAuthRequired(mcpUrl: string, options?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<boolean>;
  createClient(options: ClientOptions): McpOAuthClient;
  /** Redirect mode, on return: completes the sign-in named by the URL's state, cleans code and state from the address bar. null when the URL carries no authorization response. */
  handleRedirectCallback(url?: string, options?: { storage?: ClientOptions['storage']; storageKeyPrefix?: string }): Promise<RedirectResult | null>;
  McpOAuthError: typeof McpOAuthError;
}

/** Loads the module. The wasm is fetched and started on first need (a returning user with a valid token never waits for it), or at once with {eager: true}. */
export declare function load(options?: { wasmUrl?: string | URL; eager?: boolean }): Promise<McpOAuth>;
