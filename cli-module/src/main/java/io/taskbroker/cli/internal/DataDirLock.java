package io.taskbroker.cli.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a {@code taskbroker dev} data directory, held for the life of the process: a
 * second {@code dev} on the same directory fails with a clear message instead of starting a second
 * PostgreSQL on the same files. The operating system drops the lock when the process dies, however
 * it dies. Not thread-safe; one per process.
 */
public final class DataDirLock implements AutoCloseable {
  private static final String FILE = "dev.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * @throws CliFailure when another process holds the directory, or it cannot be written
   */
  public static DataDirLock acquire(Path dataDir) {
    Path file = dataDir.resolve(FILE);
    FileChannel channel;
    try {
      Files.createDirectories(dataDir);
      channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new CliFailure(
          ExitCodes.ERROR, "cannot use data directory " + dataDir + ": " + e.getMessage());
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException e) {
      closeQuietly(channel);
      throw new CliFailure(ExitCodes.ERROR, "cannot lock " + file + ": " + e.getMessage());
    }
    if (lock == null) {
      String holder = holder(channel);
      closeQuietly(channel);
      throw new CliFailure(
          ExitCodes.ERROR,
          "another 'taskbroker dev'"
              + holder
              + " is already running on "
              + dataDir
              + "; stop it first, or give this one another --data-dir");
    }
    try {
      channel.truncate(0);
      channel.write(
          ByteBuffer.wrap(
              (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)),
          0);
    } catch (IOException e) {
      // The pid only makes the other process's message nicer.
    }
    return new DataDirLock(channel, lock);
  }

  private static String holder(FileChannel channel) {
    try {
      ByteBuffer buffer = ByteBuffer.allocate(32);
      channel.read(buffer, 0);
      String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII);
      return pid.isBlank() ? "" : " (pid " + pid.strip() + ")";
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // Closing the channel below releases it too.
    }
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // Nothing left to do with it.
    }
  }
}
