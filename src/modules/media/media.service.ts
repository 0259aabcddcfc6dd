import type { Sequelize } from 'sequelize';
import { inTransaction } from '../../infra/db';
import { PRESETS, type ImageService } from '../../infra/images/images';
import { Unauthenticated, Unavailable } from '../../errors';
import type { UsersService } from '../users/users.service';

/** Profile pictures. The users module owns the column; this module owns the bytes. */
export class MediaService {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly users: UsersService,
    private readonly images: ImageService | null,
  ) {}

  /** Stores a 160×160 WebP avatar; the previous one (if it is ours) is deleted after the commit. */
  async setAvatar(userId: number, image: Buffer): Promise<{ avatarUrl: string }> {
    if (!this.images) throw Unavailable('Image uploads are not configured on this server');
    const images = this.images;
    return images.replace(image, PRESETS.avatar, `avatars/${userId}`, ([avatar]) =>
      inTransaction(this.sequelize, async (t) => {
        // The row lock orders two concurrent avatar uploads: each deletes exactly the one it replaced.
        const user = await this.users.findById(userId, t, true);
        if (!user) throw Unauthenticated('This account no longer exists');
        await this.users.setAvatarUrl(userId, avatar.url, t);
        await images.deleteAfterCommit(t, [user.avatarUrl]);
        return { avatarUrl: avatar.url };
      }),
    );
  }
}
