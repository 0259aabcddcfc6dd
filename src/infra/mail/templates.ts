import type { MailMessage } from './mailer';

/** Every e-mail Pawmate sends, as plain text + HTML from one place. */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function compose(
  to: string | null,
  subject: string,
  paragraphs: string[],
  link?: { label: string; url: string },
): MailMessage {
  const text = [...paragraphs, ...(link ? [`${link.label}: ${link.url}`] : []), '', '— Pawmate'].join('\n\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    link ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>` : '',
    '<p>— Pawmate</p></body></html>',
  ].join('');
  return { to, subject, text, html };
}

export const templates = {
  verifyEmail: (to: string | null, nickname: string, url: string) =>
    compose(
      to,
      'Confirm your Pawmate e-mail',
      [`Hi ${nickname},`, 'Please confirm your e-mail address. The link is valid for 24 hours.'],
      {
        label: 'Confirm e-mail',
        url,
      },
    ),
  resetPassword: (to: string | null, nickname: string, url: string) =>
    compose(
      to,
      'Reset your Pawmate password',
      [
        `Hi ${nickname},`,
        'Someone asked to reset your password. The link is valid for 1 hour. If it was not you, ignore this mail.',
      ],
      { label: 'Choose a new password', url },
    ),
  passwordChanged: (to: string | null, nickname: string) =>
    compose(to, 'Your Pawmate password was changed', [
      `Hi ${nickname},`,
      'Your password was just changed and every device was signed out. If this was not you, reset your password now.',
    ]),
  /** A notification the recipient chose to get by e-mail (notification preferences). */
  notification: (to: string | null, nickname: string, title: string, body: string, url: string) =>
    compose(
      to,
      title,
      [
        `Hi ${nickname},`,
        ...(body ? [body] : []),
        'You can choose which e-mails you get in your notification settings.',
      ],
      {
        label: 'Open Pawmate',
        url,
      },
    ),
  /** Chat e-mails are digested: one per room per window, counting the messages it stands for. */
  chatDigest: (to: string | null, nickname: string, title: string, body: string, heldBack: number, url: string) =>
    compose(
      to,
      title,
      [
        `Hi ${nickname},`,
        ...(body ? [body] : []),
        ...(heldBack > 0
          ? [`…and ${heldBack} more message${heldBack === 1 ? '' : 's'} in this chat since the last e-mail.`]
          : []),
        'Chat e-mails are sent at most once per conversation every 15 minutes.',
      ],
      { label: 'Open the chat', url },
    ),
  reservationReminder: (
    to: string | null,
    nickname: string,
    otherName: string,
    service: string,
    start: string,
    end: string,
  ) =>
    compose(to, `Reminder: your Pawmate reservation starts ${start}`, [
      `Hi ${nickname},`,
      `Your ${service.replace('_', '-')} reservation with ${otherName} runs from ${start} to ${end}. It starts tomorrow.`,
    ]),
  /** Sent to the new address of an e-mail change: the change happens only when this link is used. */
  confirmNewEmail: (to: string | null, nickname: string, url: string) =>
    compose(
      to,
      'Confirm your new Pawmate e-mail',
      [
        `Hi ${nickname},`,
        'Please confirm that this is your new e-mail address for Pawmate. The link is valid for 24 hours.',
      ],
      { label: 'Confirm new e-mail', url },
    ),
  /** Sent to the old address once an e-mail change is confirmed. */
  emailChanged: (to: string | null, nickname: string, newEmail: string) =>
    compose(to, 'Your Pawmate e-mail was changed', [
      `Hi ${nickname},`,
      `Your account's e-mail address is now ${newEmail}; this address no longer signs in. If this was not you, contact support now.`,
    ]),
  /** A password set or changed while signed in: the other devices were signed out. */
  passwordSet: (to: string | null, nickname: string) =>
    compose(to, 'Your Pawmate password was changed', [
      `Hi ${nickname},`,
      'Your password was just set or changed, and your other devices were signed out. If this was not you, reset your password now.',
    ]),
  /**
   * A group invite to an address that has no verified account yet: the link leads to sign-up; the
   * invite waits for the address to sign up and verify (then it shows in the app's invites).
   */
  groupInviteSignup: (to: string, inviterName: string, groupName: string, url: string, expiresOn: string) =>
    compose(
      to,
      `${inviterName} invited you to ${groupName} on Pawmate`,
      [
        `${inviterName} invited you to join the group “${groupName}” on Pawmate.`,
        `Sign up (or confirm your e-mail) with this address to see and accept the invite. It is valid until ${expiresOn}.`,
      ],
      { label: 'Join Pawmate', url },
    ),
};
