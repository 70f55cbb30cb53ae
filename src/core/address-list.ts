import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** A client address in the form a listener sees it: IPv4-mapped IPv6 (::ffff:a.b.c.d) is plain IPv4. */
export function clientAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/**
 * Networks given as CIDRs (`10.0.0.0/8,fd00::/8`, or single addresses), for
 * `--wake-from` and `--allow-from`. An IPv4-mapped IPv6 client is matched as
 * the IPv4 address it is.
 */
export class AddressList {
  private constructor(
    /** The networks, as given after checking: `10.0.0.0/8, ::1/128`. */
    readonly text: string,
    private readonly list: BlockList,
  ) {}

  /** Matches no address: what an --allow-from label that cannot be read allows. */
  static readonly NOTHING = new AddressList('no network (the label could not be read)', new BlockList());

  /** Throws an error naming the first entry that is not a network. */
  static parse(text: string): AddressList {
    const list = new BlockList();
    const shown: string[] = [];
    const entries = text.split(',').map((entry) => entry.trim());
    if (entries.every((entry) => entry === '')) throw new Error('no network given; list CIDRs like 192.168.1.0/24,fd00::/8');
    for (const entry of entries) {
      if (entry === '') continue;
      const [address = '', prefixText, extra] = entry.split('/');
      const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
      const bits = family === 'ipv4' ? 32 : 128;
      if (family === null || extra !== undefined) throw new Error(`"${entry}" is not an address or a network in CIDR form (192.168.1.0/24, fd00::/8)`);
      const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
      if (!(prefix >= 0 && prefix <= bits)) throw new Error(`"${entry}": the prefix length must be a whole number from 0 to ${bits}`);
      list.addSubnet(address, prefix, family);
      shown.push(`${address}/${prefix}`);
    }
    return new AddressList(shown.join(', '), list);
  }

  /**
   * Whether `address` (as a socket reports it) is in one of the networks; an
   * unknown address is in none. BlockList applies IPv4 rules to IPv4-mapped
   * IPv6 addresses (a dual-stack listener's IPv4 clients) by itself.
   */
  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    if (isIPv4(address)) return this.list.check(address, 'ipv4');
    return isIPv6(address) && this.list.check(address, 'ipv6');
  }
}
