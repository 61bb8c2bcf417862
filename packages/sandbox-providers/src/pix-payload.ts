/** EMV "copia e cola" Pix payloads with a real CRC16-CCITT (poly 0x1021, init 0xFFFF) tail. */

function field(id: string, value: string): string {
  return `${id}${String(value.length).padStart(2, '0')}${value}`;
}

export function crc16(data: string): string {
  let crc = 0xffff;
  for (let i = 0; i < data.length; i++) {
    crc ^= data.charCodeAt(i) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** A dynamic Pix payload (BR Code) for a charge; `amount` in reais. */
export function pixPayload(opts: { location: string; amount: number; merchant: string; city: string; txid: string }): string {
  const account = field('00', 'br.gov.bcb.pix') + field('25', opts.location);
  const body =
    field('00', '01') +
    field('01', '12') +
    field('26', account) +
    field('52', '0000') +
    field('53', '986') +
    field('54', opts.amount.toFixed(2)) +
    field('58', 'BR') +
    field('59', opts.merchant.slice(0, 25)) +
    field('60', opts.city.slice(0, 15)) +
    field('62', field('05', opts.txid.slice(0, 25))) +
    '6304';
  return body + crc16(body);
}

/** A 1x1 transparent PNG: the sandbox does not render real QR images. */
export const PLACEHOLDER_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
