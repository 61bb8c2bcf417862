/** Why a signature was refused; logged (never returned to the caller beyond a plain 401). */
export type SignatureFailure = 'missing_signature' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

/** Reads one request header by lower-case name. */
export type HeaderReader = (name: string) => string | undefined;
