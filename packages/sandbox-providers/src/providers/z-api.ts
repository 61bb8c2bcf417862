import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ProviderError } from '../provider-error';
import { issuePath } from '../provider-module';
import type { ProviderModule } from '../provider-module';
import { findForSimulation, invalidTransition } from '../simulation-helpers';
import { defineTool } from '../tool';
import type { ProviderObject, ToolContext } from '../types';
import { pad } from '../validators';

/**
 * Z-API (WhatsApp), modelled on `@codespar/mcp-z-api`. Phones are digits only with country code
 * (10-15 digits, e.g. 5511999887766). Sends answer `{zaapId, messageId, id}`; message status
 * SENT → RECEIVED (`delivered`) → READ (`message_read`, webhook `MessageStatusCallback`).
 * check_number: a number "has WhatsApp" when it is a Brazilian mobile (55 + DDD + 9 + 8 digits)
 * or any non-Brazilian number; Brazilian landlines do not.
 */

type Obj = ProviderObject;

const phoneSchema = z.string().regex(/^\d{10,15}$/, 'phone must be digits only with country code (10-15 digits), e.g. 5511999887766');

function zError(code: string, message: string, status: number): ProviderError {
  return new ProviderError(code, message, status, { value: message });
}

function hasWhatsApp(phone: string): boolean {
  if (!phone.startsWith('55')) return true;
  return /^55[1-9][1-9]9\d{8}$/.test(phone);
}

function send(ctx: ToolContext, phone: string, type: string, content: Obj): Obj {
  const seq = ctx.next('message');
  const messageId = `3EB0${seq.toString(16).toUpperCase().padStart(16, '0')}`;
  const zaapId = `${pad(seq, 12)}${'Z'.repeat(4)}${pad(seq, 16)}`;
  ctx.insert(
    'message',
    messageId,
    {
      messageId,
      zaapId,
      phone,
      fromMe: true,
      momment: ctx.now.getTime(),
      status: 'SENT',
      type,
      ...content,
    },
    'status',
  );
  return { zaapId, messageId, id: messageId };
}

const sendText = defineTool(
  'send_text',
  'Send a WhatsApp text message. phone: digits only with country code (e.g. 5511999887766).',
  z.object({
    phone: phoneSchema,
    message: z.string().min(1).max(4096),
    delayMessage: z.number().int().min(1).max(15).optional(),
    delayTyping: z.number().int().min(1).max(15).optional(),
    messageId: z.string().optional(),
  }),
  (args, ctx) => send(ctx, args.phone, 'text', { text: { message: args.message }, referenceMessageId: args.messageId ?? null }),
);

const sendDocument = defineTool(
  'send_document',
  'Send a document by URL (or base64 data URI). The extension comes from `extension`, else from fileName or the URL.',
  z.object({
    phone: phoneSchema,
    document: z.string().min(1),
    fileName: z.string().max(255).optional(),
    extension: z
      .string()
      .regex(/^[a-zA-Z0-9]{1,8}$/)
      .optional(),
    caption: z.string().max(1024).optional(),
  }),
  (args, ctx) => {
    const isUrl = /^https?:\/\/\S+$/.test(args.document);
    const isData = /^data:[\w.+-]+\/[\w.+-]+;base64,/.test(args.document);
    if (!isUrl && !isData) throw zError('invalid_document', 'document must be an http(s) URL or a base64 data URI.', 400);
    const fromName = args.fileName ? /\.([a-zA-Z0-9]{1,8})$/.exec(args.fileName)?.[1] : undefined;
    const fromUrl = isUrl ? /\.([a-zA-Z0-9]{1,8})(?:[?#].*)?$/.exec(args.document)?.[1] : undefined;
    const extension = (args.extension ?? fromName ?? fromUrl)?.toLowerCase();
    if (!extension) throw zError('extension_required', 'Document extension is required (POST /send-document/{extension}).', 400);
    return send(ctx, args.phone, 'document', {
      document: {
        documentUrl: isUrl ? args.document : null,
        fileName: args.fileName ?? `document.${extension}`,
        extension,
        caption: args.caption ?? null,
      },
    });
  },
);

const checkNumber = defineTool('check_number', 'Check whether a phone number has WhatsApp.', z.object({ phone: phoneSchema }), (args) => ({
  exists: hasWhatsApp(args.phone),
}));

const getStatus = defineTool('get_status', 'Connection status of the instance.', z.object({}), () => ({
  connected: true,
  error: null,
  smartphoneConnected: true,
}));

const getMessages = defineTool(
  'get_messages',
  'Messages of a chat, newest first (the instance keeps what it sent through this sandbox).',
  z.object({ phone: phoneSchema, amount: z.number().int().min(1).max(100).optional() }),
  (args, ctx) => {
    const messages = ctx
      .list('message')
      .filter((m) => m.phone === args.phone)
      .reverse()
      .slice(0, args.amount ?? 50);
    return { data: messages };
  },
);

function statusCallback(ctx: ToolContext, m: Obj, status: string): Obj {
  return {
    type: 'MessageStatusCallback',
    // Derived, not the credential itself: credential values never leave the sandbox.
    instanceId: createHash('sha256').update(ctx.account).digest('hex').slice(0, 32).toUpperCase(),
    status,
    ids: [m.messageId],
    momment: ctx.now.getTime(),
    phoneDevice: 0,
    phone: m.phone,
    isGroup: false,
  };
}

export const zApiModule: ProviderModule = {
  definition: {
    id: 'z-api',
    name: 'Z-API',
    description: 'WhatsApp messaging: send text and documents, check numbers, instance status and chat messages.',
    category: 'messaging',
    credentialFields: [
      { name: 'instance_id', secret: false, required: true },
      { name: 'token', secret: true, required: true },
      { name: 'client_token', secret: true, required: true },
    ],
    tools: [sendText, sendDocument, checkNumber, getStatus, getMessages],
  },
  unauthorized: () => zError('unauthorized', 'Unable to find matching target resource method: invalid instance, token or Client-Token.', 401),
  invalidInput: (issues) => zError('validation_failed', issues.map((i) => `${issuePath(i)}: ${i.message}`).join('; '), 400),
  simulations: {
    delivered(ctx, id) {
      const { obj: m } = findForSimulation(ctx, ['message'], id);
      if (m.status !== 'SENT') throw invalidTransition(id, m.status, 'delivered');
      m.status = 'RECEIVED';
      ctx.emit(statusCallback(ctx, m, 'RECEIVED'));
      return m;
    },
    message_read(ctx, id) {
      const { obj: m } = findForSimulation(ctx, ['message'], id);
      if (m.status !== 'SENT' && m.status !== 'RECEIVED') throw invalidTransition(id, m.status, 'message_read');
      m.status = 'READ';
      ctx.emit(statusCallback(ctx, m, 'READ'));
      return m;
    },
  },
  webhookScheme: 'sandbox-hmac',
};
