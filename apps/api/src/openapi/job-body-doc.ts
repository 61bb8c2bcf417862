import { z } from 'zod';
import { createJobBody, LIMITS, METADATA_KEY } from '@agents/jobs';

/**
 * The job body as the document shows it: `agent | workflow` (oneOf), built from the one schema
 * submission validates with (`createJobBody`, whose cross-field rules zod cannot express in JSON
 * Schema), with the metadata limits spelled out. The examples run on the embedded defaults
 * against the demo tenant `tenant_loja` (asaas, melhor-envio, z-api): the agent one matches a
 * scripted-model scenario (packages/agent/fixtures/scenarios/loja-pix-charge-whatsapp.json).
 */
const shape = createJobBody.shape;

const metadataDoc = shape.metadata.meta({
  description: `At most ${LIMITS.metadataPairs} string pairs; keys 1–${LIMITS.metadataKey} characters of letters, digits, \`_ . : -\`; values up to ${LIMITS.metadataValue} characters. \`tenant_id\` is always set by the system.`,
  maxProperties: LIMITS.metadataPairs,
  propertyNames: { minLength: 1, maxLength: LIMITS.metadataKey, pattern: METADATA_KEY.source },
  additionalProperties: { type: 'string', maxLength: LIMITS.metadataValue },
  example: { order_id: 'A-1001' },
});

const common = {
  servers: shape.servers.meta({ description: "Defaults to all of the tenant's servers; any other is 422 server_not_allowed." }),
  metadata: metadataDoc,
  callback_url: shape.callback_url.meta({ description: "https:// (or http:// where the deployment allows it); falls back to the tenant's webhook_url." }),
  environment: shape.environment.meta({ description: 'Operator key only (default live); a tenant key runs in its own environment.' }),
};

export const agentJobBody = z
  .strictObject({
    type: z.literal('agent').optional().meta({ description: 'Default.' }),
    input: shape.input.unwrap().meta({ description: 'What the agent should do.' }),
    ...common,
    max_iterations: shape.max_iterations,
    model: shape.model.meta({ description: "One of the operator's OPENAI_ALLOWED_MODELS (else 400 model_not_allowed)." }),
  })
  .meta({ id: 'AgentJobBody', description: 'An agent job: the model decides which tools to call.' });

export const workflowJobBody = z
  .strictObject({
    type: z.literal('workflow'),
    steps: shape.steps.unwrap().meta({
      description:
        'Run in order, stopping at the first failure. Each `tool` must exist on one of the job\'s servers (else 400 unknown_tool at submission). `args` may reference earlier results as `"{{steps.0.data.id}}"`.',
    }),
    ...common,
  })
  .meta({ id: 'WorkflowJobBody', description: 'A deterministic workflow job (no model).' });

export const AGENT_EXAMPLE = {
  input: 'Create a Pix charge of R$50 for Maria Silva (CPF 529.982.247-25) and WhatsApp her the payment link at +55 31 99988-7766',
  servers: ['asaas', 'z-api'],
  metadata: { order_id: 'A-1001' },
};

export const WORKFLOW_EXAMPLE = {
  type: 'workflow',
  steps: [{ tool: 'asaas/list_customers', args: {} }],
  metadata: { order_id: 'A-1002' },
};
