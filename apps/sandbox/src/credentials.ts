import type { CredentialValues, ProviderDefinition } from '@agents/sandbox-providers';

type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** `client_secret` → `x-credential-client-secret` (Node lower-cases incoming header names). */
export function credentialHeaderName(field: string): string {
  return `x-credential-${field.replace(/_/g, '-').toLowerCase()}`;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Credential values from HTTP headers: `Authorization: Bearer <first field>` names the account;
 * other fields come from `X-Credential-<Field-Name>`. Absent headers stay undefined; the state
 * store decides what is missing or malformed.
 */
export function credentialsFromHeaders(provider: ProviderDefinition, headers: HeaderBag): CredentialValues {
  const out: Record<string, string | undefined> = {};
  provider.credentialFields.forEach((f, i) => {
    if (i === 0) {
      const auth = single(headers.authorization);
      const m = auth ? /^Bearer (.*)$/i.exec(auth) : null;
      out[f.name] = m ? m[1] : undefined;
    } else {
      out[f.name] = single(headers[credentialHeaderName(f.name)]);
    }
  });
  return out;
}

/** `SANDBOX_CREDENTIAL_<FIELD_NAME_UPPERCASE>` → credential values (the stdio entry's source). */
export function credentialsFromEnv(provider: ProviderDefinition, env: Readonly<Record<string, string | undefined>>): CredentialValues {
  const out: Record<string, string | undefined> = {};
  for (const f of provider.credentialFields) out[f.name] = env[`SANDBOX_CREDENTIAL_${f.name.toUpperCase()}`];
  return out;
}
