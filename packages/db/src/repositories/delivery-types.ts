import type { Channel, Provider, SendStatus, SenderRole, SenderStatus } from '@outbound/domain';
import type { Delivery } from '../database.ts';

/** Enough to name a delivery in a transition, an event or a log line. */
export interface DeliveryRef {
  id: string;
  organization_id: string;
  send_id: string;
}

/** Which claim a `sending` transition finishes: the attempt the claim returned. */
export interface AttemptRef extends DeliveryRef {
  attempt: number;
}

export interface DeliveryError {
  code: string;
  /** Why, for people; never the message body or credentials. */
  message: string;
}

/** The sender fields sending needs; never its credentials (see `loadSenderCredentials`). */
export interface SendingSender {
  id: string;
  organization_id: string;
  channel: Channel;
  provider: Provider;
  name: string;
  role: SenderRole;
  status: SenderStatus;
  settings: Record<string, unknown>;
  rate_limit_max: number;
  rate_limit_window_ms: number;
  /** Changes whenever the sender does (settings, credentials, status): a cache key. */
  updated_at: Date;
}

/** A delivery with what sending it takes: its send's content, its sender, its group's name. */
export interface DeliveryForSending {
  delivery: Delivery;
  send: {
    id: string;
    channel: Channel;
    status: SendStatus;
    content: Record<string, unknown>;
    /** The id of the API request that created the send, for log lines; `null` when none. */
    request_id: string | null;
  };
  sender: SendingSender;
  /** The group's name when the recipient is a group; `null` otherwise. */
  groupName: string | null;
}
