using System.Text;

namespace Podvisor.EmulatedHost;

/// <summary>Writes a cpio archive in the "newc" format the Linux initramfs loader reads.</summary>
public sealed class CpioArchive
{
    private readonly Stream _output;
    private uint _inode = 1;

    public CpioArchive(Stream output) => _output = output;

    public void AddDirectory(string path, uint mode = 0x1ED /* 0755 */) => AddEntry(path, 0x4000 | mode, []);

    public void AddFile(string path, ReadOnlySpan<byte> content, uint mode = 0x1A4 /* 0644 */) => AddEntry(path, 0x8000 | mode, content);

    public void AddSymlink(string path, string target) => AddEntry(path, 0xA000 | 0x1FF, Encoding.UTF8.GetBytes(target));

    /// <summary>
    /// Writes <paramref name="baseImage"/> (an initramfs, compressed or not) to <paramref name="output"/> followed
    /// by a second, uncompressed archive of <paramref name="files"/> (path in the image, content, mode). The
    /// kernel unpacks concatenated archives in order, so the files are added (or replace the base's) without
    /// unpacking it.
    /// </summary>
    public static void Extend(string baseImage, string output, IEnumerable<(string Path, byte[] Content, uint Mode)> files)
    {
        using var file = File.Create(output);
        byte[] image = File.ReadAllBytes(baseImage);
        file.Write(image);
        // The next archive must start 4-byte aligned; the kernel skips zero padding between archives.
        file.Write(new byte[(4 - image.Length % 4) % 4]);
        var cpio = new CpioArchive(file);
        foreach (var (path, content, mode) in files) cpio.AddFile(path, content, mode);
        cpio.Finish();
    }

    /// <summary>Writes the TRAILER!!! entry; the archive is complete afterwards.</summary>
    public void Finish() => AddEntry("TRAILER!!!", 0, [], inode: 0);

    private void AddEntry(string path, uint mode, ReadOnlySpan<byte> content, uint? inode = null)
    {
        byte[] name = Encoding.UTF8.GetBytes(path.TrimStart('/') + "\0");
        var header = new StringBuilder("070701");
        void Field(uint value) => header.Append(value.ToString("X8"));
        Field(inode ?? _inode++);
        Field(mode);
        Field(0); Field(0);                  // uid, gid
        Field(mode >> 12 == 0x4 ? 2u : 1u);  // nlink
        Field(0);                            // mtime: fixed, so the archive is reproducible
        Field((uint)content.Length);
        Field(0); Field(0); Field(0); Field(0); // dev major/minor, rdev major/minor
        Field((uint)name.Length);
        Field(0);                            // check
        byte[] headerBytes = Encoding.ASCII.GetBytes(header.ToString());
        _output.Write(headerBytes);
        _output.Write(name);
        Pad(headerBytes.Length + name.Length);
        _output.Write(content);
        Pad(content.Length);
    }

    private void Pad(int written)
    {
        int pad = (4 - written % 4) % 4;
        for (int i = 0; i < pad; i++) _output.WriteByte(0);
    }
}
