import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { AuthenticatedApp } from './authenticate.use-case';

/** What the relay keeps about one SMTP connection besides smtp-server's own session. */
export interface SessionState {
  readonly connection: SMTPConnection;
  readonly openedAt: number;
  /** The application, once AUTH succeeded and its connection slot was taken. */
  app?: AuthenticatedApp;
  authFailures: number;
  /** A message is being received: shutdown waits for it (bounded). */
  inData: boolean;
  /** Close the connection right after the next negative reply (lockout, revoked credential). */
  closeAfterReply: boolean;
  /** Whether the client IP holds a slot in the per-IP connection count. */
  countedIp: boolean;
  sessionTimer?: NodeJS.Timeout;
}

/** Open connections of one ingress replica, by smtp-server session id. */
export class SessionRegistry {
  private readonly sessions = new Map<string, SessionState>();

  register(connection: SMTPConnection): SessionState {
    const state: SessionState = {
      connection,
      openedAt: Date.now(),
      authFailures: 0,
      inData: false,
      closeAfterReply: false,
      countedIp: false,
    };
    this.sessions.set(connection.id, state);
    return state;
  }

  get(sessionId: string): SessionState | undefined {
    return this.sessions.get(sessionId);
  }

  remove(sessionId: string): SessionState | undefined {
    const state = this.sessions.get(sessionId);
    if (state !== undefined) {
      clearTimeout(state.sessionTimer);
      this.sessions.delete(sessionId);
    }
    return state;
  }

  all(): SessionState[] {
    return [...this.sessions.values()];
  }

  get busy(): number {
    return this.all().filter((s) => s.inData).length;
  }
}
