/**
 * Drafts and attachment upload sessions of the Graph emulator: a draft holds the
 * message until `/send`; an upload session takes the bytes of one large
 * attachment in byte ranges (`Content-Range`, contiguous, each a multiple of 320
 * KiB but the last) at a pre-authenticated URL, and attaches it to its draft once
 * the last byte arrived. Until then the draft has no such attachment.
 */
import { randomBytes } from 'node:crypto';
import { graphErrors, type GraphError } from './graph-errors.js';
import type { OutgoingMessage } from './graph-mail.js';
import type { GraphDraft, GraphUploadSession } from './graph-types.js';

/** A draft with its message and owner. */
export interface DraftState extends GraphDraft {
  message: OutgoingMessage;
  tokenKind: 'app' | 'delegated';
  principal: string;
}

/** An upload session with its secret and the bytes so far. */
export interface UploadState extends GraphUploadSession {
  /** The `authtoken` of the upload URL. */
  token: string;
  mailbox: string;
  clientId: string;
  isInline: boolean;
  contentId?: string;
  chunks: Buffer[];
}

/** What a byte-range PUT achieved. */
export type ChunkOutcome = { done: false; next: number } | { done: true; attachmentId: string } | GraphError;

/** The attachment an upload session is opened for (createUploadSession's AttachmentItem). */
export interface UploadItem {
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId?: string;
}

/** Limits on byte ranges. */
export interface ChunkRules {
  /** Every range but the last is a multiple of this many bytes. */
  multiple: number;
}

/** Exchange-looking item ids. */
const itemId = (): string => `AAMkA${randomBytes(36).toString('base64url')}`;

/** The drafts and upload sessions of one Graph emulator. */
export class DraftStore {
  private readonly drafts = new Map<string, DraftState>();
  private readonly sessions = new Map<string, UploadState>();

  /** Drafts not yet sent. */
  list(): DraftState[] {
    return [...this.drafts.values()];
  }

  /** Stores a new draft of `mailbox`. */
  create(input: Pick<DraftState, 'mailbox' | 'clientId' | 'tokenKind' | 'principal' | 'message'>, now: number): DraftState {
    const draft: DraftState = {
      ...input,
      id: itemId(),
      subject: input.message.subject,
      attachments: input.message.attachments,
      uploads: [],
      createdAt: now,
    };
    this.drafts.set(draft.id, draft);
    return draft;
  }

  /** The draft `id` of `mailbox`, if it exists. */
  find(mailbox: string, id: string): DraftState | undefined {
    const draft = this.drafts.get(id);
    return draft?.mailbox === mailbox ? draft : undefined;
  }

  /** Forgets a sent draft and its upload sessions. */
  remove(draft: DraftState): void {
    this.drafts.delete(draft.id);
    for (const upload of draft.uploads) this.sessions.delete(upload.id);
  }

  /** Opens an upload session for one attachment of `draft`. */
  openUpload(draft: DraftState, item: UploadItem, expiresAt: number): UploadState {
    const session: UploadState = {
      id: itemId(),
      draftId: draft.id,
      name: item.name,
      contentType: item.contentType,
      size: item.size,
      received: 0,
      expiresAt,
      completed: false,
      token: randomBytes(48).toString('base64url'),
      mailbox: draft.mailbox,
      clientId: draft.clientId,
      isInline: item.isInline,
      ...(item.contentId !== undefined ? { contentId: item.contentId } : {}),
      chunks: [],
    };
    this.sessions.set(session.id, session);
    draft.uploads.push(session);
    return session;
  }

  /** The open session `id` whose URL carried `token`, unless it expired or finished. */
  findUpload(id: string, token: string, now: number): UploadState | undefined {
    const session = this.sessions.get(id);
    if (!session || session.token !== token || session.completed || session.expiresAt <= now) return undefined;
    return session;
  }

  /** Cancels an upload session (DELETE on its URL). */
  cancelUpload(session: UploadState): void {
    this.sessions.delete(session.id);
    const draft = this.drafts.get(session.draftId);
    if (draft) draft.uploads = draft.uploads.filter((u) => u.id !== session.id);
  }

  /** Takes one byte range; the last one attaches the file to its draft. */
  receiveChunk(session: UploadState, contentRange: string | undefined, bytes: Buffer, rules: ChunkRules): ChunkOutcome {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange?.trim() ?? '');
    if (!range) return graphErrors.badRequest("The Content-Range header is missing or malformed; expected 'bytes start-end/total'.");
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (total !== session.size) {
      return graphErrors.badRequest(`The Content-Range total ${total} does not match the attachment size ${session.size}.`);
    }
    if (end < start || end >= total) return graphErrors.badRequest(`The Content-Range ${start}-${end} is not within 0-${total - 1}.`);
    if (bytes.length !== end - start + 1) {
      return graphErrors.badRequest(`The request body has ${bytes.length} bytes but Content-Range names ${end - start + 1}.`);
    }
    if (start !== session.received) {
      return graphErrors.invalidRange(`The uploaded fragment does not start at the next expected byte ${session.received}.`);
    }
    const last = end + 1 === total;
    if (!last && bytes.length % rules.multiple !== 0) {
      return graphErrors.badRequest(
        `A fragment other than the last must be a multiple of ${rules.multiple} bytes; this one has ${bytes.length}.`,
      );
    }
    session.chunks.push(bytes);
    session.received = end + 1;
    if (!last) return { done: false, next: session.received };
    session.completed = true;
    this.sessions.delete(session.id);
    const draft = this.drafts.get(session.draftId);
    draft?.attachments.push({
      name: session.name,
      contentType: session.contentType,
      bytes: Buffer.concat(session.chunks),
      isInline: session.isInline,
      ...(session.contentId !== undefined ? { contentId: session.contentId } : {}),
    });
    session.chunks = [];
    return { done: true, attachmentId: itemId() };
  }
}
