/**
 * CEP → UF by the Correios range table (first 5 digits), plus a few well-known addresses for
 * find_cep. Shipping prices and deadlines grow with the distance between regions.
 */
const RANGES: [number, number, string][] = [
  [1000, 19999, 'SP'],
  [20000, 28999, 'RJ'],
  [29000, 29999, 'ES'],
  [30000, 39999, 'MG'],
  [40000, 48999, 'BA'],
  [49000, 49999, 'SE'],
  [50000, 56999, 'PE'],
  [57000, 57999, 'AL'],
  [58000, 58999, 'PB'],
  [59000, 59999, 'RN'],
  [60000, 63999, 'CE'],
  [64000, 64999, 'PI'],
  [65000, 65999, 'MA'],
  [66000, 68899, 'PA'],
  [68900, 68999, 'AP'],
  [69000, 69299, 'AM'],
  [69300, 69399, 'RR'],
  [69400, 69899, 'AM'],
  [69900, 69999, 'AC'],
  [70000, 72799, 'DF'],
  [72800, 72999, 'GO'],
  [73000, 73699, 'DF'],
  [73700, 76799, 'GO'],
  [76800, 76999, 'RO'],
  [77000, 77999, 'TO'],
  [78000, 78899, 'MT'],
  [79000, 79999, 'MS'],
  [80000, 87999, 'PR'],
  [88000, 89999, 'SC'],
  [90000, 99999, 'RS'],
];

const REGION: Record<string, string> = {
  SP: 'SE',
  RJ: 'SE',
  ES: 'SE',
  MG: 'SE',
  PR: 'S',
  SC: 'S',
  RS: 'S',
  DF: 'CO',
  GO: 'CO',
  MT: 'CO',
  MS: 'CO',
  BA: 'NE',
  SE: 'NE',
  PE: 'NE',
  AL: 'NE',
  PB: 'NE',
  RN: 'NE',
  CE: 'NE',
  PI: 'NE',
  MA: 'NE',
  PA: 'N',
  AP: 'N',
  AM: 'N',
  RR: 'N',
  AC: 'N',
  RO: 'N',
  TO: 'N',
};

export function ufOfCep(cep8: string): string | null {
  const prefix = Number(cep8.slice(0, 5));
  for (const [lo, hi, uf] of RANGES) if (prefix >= lo && prefix <= hi) return uf;
  return null;
}

/** 0 same UF, 1 same region, 2 neighbouring/other region, 3 North ↔ South extremes. */
export function distanceBand(ufA: string, ufB: string): number {
  if (ufA === ufB) return 0;
  const a = REGION[ufA];
  const b = REGION[ufB];
  if (a === b) return 1;
  if ((a === 'N' && b === 'S') || (a === 'S' && b === 'N')) return 3;
  return 2;
}

export interface KnownAddress {
  cep: string;
  uf: string;
  localidade: string;
  logradouro: string;
  bairro: string;
  numeroLocalidade: number;
}

export const KNOWN_ADDRESSES: readonly KnownAddress[] = [
  { cep: '01310100', uf: 'SP', localidade: 'São Paulo', logradouro: 'Avenida Paulista', bairro: 'Bela Vista', numeroLocalidade: 3550308 },
  { cep: '01001000', uf: 'SP', localidade: 'São Paulo', logradouro: 'Praça da Sé', bairro: 'Sé', numeroLocalidade: 3550308 },
  { cep: '20040020', uf: 'RJ', localidade: 'Rio de Janeiro', logradouro: 'Avenida Rio Branco', bairro: 'Centro', numeroLocalidade: 3304557 },
  { cep: '30130000', uf: 'MG', localidade: 'Belo Horizonte', logradouro: 'Praça Sete de Setembro', bairro: 'Centro', numeroLocalidade: 3106200 },
  { cep: '80010000', uf: 'PR', localidade: 'Curitiba', logradouro: 'Praça Tiradentes', bairro: 'Centro', numeroLocalidade: 4106902 },
  {
    cep: '70040010',
    uf: 'DF',
    localidade: 'Brasília',
    logradouro: 'Esplanada dos Ministérios',
    bairro: 'Zona Cívico-Administrativa',
    numeroLocalidade: 5300108,
  },
  { cep: '40020000', uf: 'BA', localidade: 'Salvador', logradouro: 'Avenida Sete de Setembro', bairro: 'Centro', numeroLocalidade: 2927408 },
  { cep: '90010000', uf: 'RS', localidade: 'Porto Alegre', logradouro: 'Rua dos Andradas', bairro: 'Centro Histórico', numeroLocalidade: 4314902 },
  { cep: '69005000', uf: 'AM', localidade: 'Manaus', logradouro: 'Avenida Eduardo Ribeiro', bairro: 'Centro', numeroLocalidade: 1302603 },
];
