import type { CallRecord, ContactRecord, SmsRecord } from '../../behaviour/host.ts';
import { sortComparator, whereFilter, type Row, type Value } from './where.ts';

/**
 * The telephony, contacts and call-log providers: real tables with `_id` columns behind the
 * content URIs the `content` tool and the apps use. Views (`content://sms/inbox`,
 * `com.android.contacts/contacts`) are filters or joins over the tables, as in the real providers.
 */
export class ContentUriError extends Error {
  override readonly name = 'ContentUriError';
  constructor(
    readonly kind: 'unknown-authority' | 'unknown-url' | 'sql',
    message: string,
  ) {
    super(message);
  }
}

export const MIME = {
  name: 'vnd.android.cursor.item/name',
  phone: 'vnd.android.cursor.item/phone_v2',
  email: 'vnd.android.cursor.item/email_v2',
  note: 'vnd.android.cursor.item/note',
} as const;

class Table {
  readonly rows: Row[] = [];
  #nextId = 1;
  constructor(
    readonly name: string,
    readonly columns: readonly string[],
    private readonly defaults: () => Row = () => ({}),
  ) {}

  insert(values: Row): number {
    for (const key of Object.keys(values)) {
      if (!this.columns.includes(key))
        throw new ContentUriError('sql', `table ${this.name} has no column named ${key}`);
    }
    const id = typeof values['_id'] === 'number' ? values['_id'] : this.#nextId;
    this.#nextId = Math.max(this.#nextId, id + 1);
    const row: Row = Object.fromEntries(this.columns.map((c) => [c, null]));
    Object.assign(row, this.defaults(), values, { _id: id });
    this.rows.push(row);
    return id;
  }
}

type Route =
  | { table: Table; fixed: Row; filter: (row: Row) => boolean; columns?: readonly string[] }
  | { view: 'contacts'; filter: (row: Row) => boolean };

export class ContentStore {
  readonly #sms: Table;
  readonly #rawContacts = new Table(
    'raw_contacts',
    ['_id', 'account_type', 'account_name', 'contact_id', 'deleted', 'display_name', 'starred'],
    () => ({ deleted: 0, starred: 0 }),
  );
  readonly #data = new Table(
    'data',
    ['_id', 'raw_contact_id', 'mimetype', 'data1', 'data2', 'data3', 'is_primary'],
    () => ({ is_primary: 0 }),
  );
  readonly #calls: Table;

  constructor(private readonly now: () => number) {
    this.#sms = new Table(
      'sms',
      [
        '_id',
        'thread_id',
        'address',
        'person',
        'date',
        'date_sent',
        'protocol',
        'read',
        'status',
        'type',
        'reply_path_present',
        'subject',
        'body',
        'service_center',
        'locked',
        'error_code',
        'seen',
      ],
      () => ({
        date: this.now(),
        date_sent: 0,
        read: 0,
        status: -1,
        type: 1,
        reply_path_present: 0,
        locked: 0,
        error_code: 0,
        seen: 0,
        protocol: 0,
      }),
    );
    this.#calls = new Table(
      'calls',
      ['_id', 'number', 'type', 'date', 'duration', 'name', 'new'],
      () => ({ date: this.now(), duration: 0, type: 1, new: 1 }),
    );
  }

  #route(uri: string): Route {
    const m = /^content:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
    if (!m?.[1]) throw new ContentUriError('unknown-url', `Unknown URL ${uri}`);
    const authority = m[1];
    const path = (m[2] ?? '').replace(/\/$/, '');
    const byId = (table: Table, fixed: Row, id: string | undefined): Route => ({
      table,
      fixed,
      filter: (row) =>
        Object.entries(fixed).every(([k, v]) => row[k] === v) &&
        (id === undefined || row['_id'] === Number(id)),
    });
    const unknown = (): never => {
      throw new ContentUriError('unknown-url', `Unknown URL ${uri}`);
    };
    switch (authority) {
      case 'sms': {
        const [box, id, extra] = path === '' ? [] : path.split('/');
        if (extra !== undefined) return unknown();
        if (box === undefined) return byId(this.#sms, {}, undefined);
        if (/^\d+$/.test(box)) return byId(this.#sms, {}, box);
        if (box === 'inbox') return byId(this.#sms, { type: 1 }, id);
        if (box === 'sent') return byId(this.#sms, { type: 2 }, id);
        return unknown();
      }
      case 'com.android.contacts':
      case 'contacts': {
        const [kind, sub] = path.split('/');
        if (kind === 'raw_contacts') return byId(this.#rawContacts, {}, sub);
        if (kind === 'contacts')
          return {
            view: 'contacts',
            filter: sub === undefined ? () => true : (row) => row['_id'] === Number(sub),
          };
        if (kind === 'data') {
          if (sub === 'phones') return byId(this.#data, { mimetype: MIME.phone }, undefined);
          if (sub === 'emails') return byId(this.#data, { mimetype: MIME.email }, undefined);
          return byId(this.#data, {}, sub);
        }
        return unknown();
      }
      case 'call_log': {
        const [kind, id] = path.split('/');
        if (kind === 'calls') return byId(this.#calls, {}, id);
        return unknown();
      }
      default:
        throw new ContentUriError('unknown-authority', `Unknown authority ${authority}`);
    }
  }

  insert(uri: string, values: Row): number {
    const route = this.#route(uri);
    if ('view' in route) throw new ContentUriError('unknown-url', `Unknown URL ${uri}`);
    const row: Row = { ...route.fixed, ...values };
    if (route.table === this.#sms && row['thread_id'] === undefined)
      row['thread_id'] = this.#threadFor(row['address'] ?? null);
    if (route.table === this.#rawContacts && row['contact_id'] === undefined)
      row['contact_id'] = null;
    const id = route.table.insert(row);
    if (route.table === this.#rawContacts) this.#set(this.#rawContacts, id, { contact_id: id });
    if (route.table === this.#data) this.#refreshDisplayNames();
    return id;
  }

  query(
    uri: string,
    options: { projection?: string[]; where?: string; sort?: string } = {},
  ): { columns: string[]; rows: Row[] } {
    const route = this.#route(uri);
    const where = whereFilter(options.where);
    const all = 'view' in route ? this.#contactsView() : route.table.rows;
    const available =
      'view' in route
        ? ['_id', 'display_name', 'has_phone_number', 'starred', 'name_raw_contact_id']
        : [...route.table.columns];
    const rows = all.filter((row) => route.filter(row) && where(row));
    const sort = sortComparator(options.sort);
    if (sort) rows.sort(sort);
    const columns = options.projection ?? available;
    for (const c of columns)
      if (!available.includes(c)) throw new ContentUriError('sql', `no such column: ${c}`);
    return {
      columns,
      rows: rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null]))),
    };
  }

  delete(uri: string, where?: string): number {
    const route = this.#route(uri);
    if ('view' in route) throw new ContentUriError('unknown-url', `Unknown URL ${uri}`);
    const match = whereFilter(where);
    const table = route.table;
    const doomed = table.rows.filter((row) => route.filter(row) && match(row));
    for (const row of doomed) table.rows.splice(table.rows.indexOf(row), 1);
    if (table === this.#rawContacts) {
      const ids = new Set(doomed.map((r) => r['_id']));
      for (const row of this.#data.rows.filter((r) => ids.has(r['raw_contact_id'] ?? null)))
        this.#data.rows.splice(this.#data.rows.indexOf(row), 1);
    }
    return doomed.length;
  }

  update(uri: string, values: Row, where?: string): number {
    const route = this.#route(uri);
    if ('view' in route) throw new ContentUriError('unknown-url', `Unknown URL ${uri}`);
    const match = whereFilter(where);
    const rows = route.table.rows.filter((row) => route.filter(row) && match(row));
    for (const row of rows) Object.assign(row, values);
    if (route.table === this.#data) this.#refreshDisplayNames();
    return rows.length;
  }

  sms(): SmsRecord[] {
    return this.#sms.rows
      .filter((r) => r['type'] === 1 || r['type'] === 2)
      .map((r) => ({
        box: r['type'] === 2 ? 'sent' : 'inbox',
        address: text(r['address']),
        body: text(r['body']),
        date: Number(r['date'] ?? 0),
      }));
  }

  contacts(): ContactRecord[] {
    return this.#rawContacts.rows
      .filter((r) => r['deleted'] !== 1)
      .map((raw) => {
        const data = this.#data.rows.filter((d) => d['raw_contact_id'] === raw['_id']);
        const of = (mime: string): string[] =>
          data.filter((d) => d['mimetype'] === mime).map((d) => text(d['data1']));
        const note = of(MIME.note)[0];
        return {
          name: text(raw['display_name']),
          phones: of(MIME.phone),
          emails: of(MIME.email),
          ...(note === undefined ? {} : { note }),
        };
      });
  }

  calls(): CallRecord[] {
    return this.#calls.rows.map((r) => ({
      number: text(r['number']),
      type: Number(r['type'] ?? 1),
      date: Number(r['date'] ?? 0),
      duration: Number(r['duration'] ?? 0),
    }));
  }

  #contactsView(): Row[] {
    return this.#rawContacts.rows
      .filter((r) => r['deleted'] !== 1)
      .map((raw) => ({
        _id: raw['_id'] ?? null,
        display_name: raw['display_name'] ?? null,
        has_phone_number: this.#data.rows.some(
          (d) => d['raw_contact_id'] === raw['_id'] && d['mimetype'] === MIME.phone,
        )
          ? 1
          : 0,
        starred: raw['starred'] ?? 0,
        name_raw_contact_id: raw['_id'] ?? null,
      }));
  }

  /** The contacts provider derives a raw contact's display name from its name row. */
  #refreshDisplayNames(): void {
    for (const raw of this.#rawContacts.rows) {
      const name = this.#data.rows.find(
        (d) => d['raw_contact_id'] === raw['_id'] && d['mimetype'] === MIME.name,
      );
      const phone = this.#data.rows.find(
        (d) => d['raw_contact_id'] === raw['_id'] && d['mimetype'] === MIME.phone,
      );
      raw['display_name'] = name?.['data1'] ?? raw['display_name'] ?? phone?.['data1'] ?? null;
    }
  }

  #threadFor(address: Value): number {
    const existing = this.#sms.rows.find((r) => r['address'] === address);
    if (existing && typeof existing['thread_id'] === 'number') return existing['thread_id'];
    return new Set(this.#sms.rows.map((r) => r['thread_id'])).size + 1;
  }

  #set(table: Table, id: number, values: Row): void {
    const row = table.rows.find((r) => r['_id'] === id);
    if (row) Object.assign(row, values);
  }
}

function text(value: Value | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}
