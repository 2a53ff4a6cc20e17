using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Podvisor.Launcher.CloudInit;

namespace Podvisor.Launcher.Tests;

public sealed class Iso9660ImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-iso-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly (string, byte[])[] Seed =
    [
        ("user-data", Encoding.UTF8.GetBytes("#cloud-config\nruncmd: [ [ touch, /ran ] ]\n")),
        ("meta-data", Encoding.UTF8.GetBytes("instance-id: i-1\n")),
        ("network-config", new byte[5000]),                          // more than a sector
    ];

    /// <summary>Files of the root directory as a reader walking the ECMA-119 structures sees them.</summary>
    internal static Dictionary<string, byte[]> ReadRoot(byte[] image)
    {
        var pvd = image.AsSpan(16 * 2048, 2048);
        Assert.Equal("CD001", Encoding.ASCII.GetString(pvd.Slice(1, 5)));
        Assert.Equal((uint)image.Length / 2048, BinaryPrimitives.ReadUInt32LittleEndian(pvd[80..]));
        Assert.Equal((uint)image.Length / 2048, BinaryPrimitives.ReadUInt32BigEndian(pvd[84..]));
        var rootRecord = pvd.Slice(156, 34);
        int rootExtent = (int)BinaryPrimitives.ReadUInt32LittleEndian(rootRecord[2..]);
        var root = image.AsSpan(rootExtent * 2048, 2048);
        var files = new Dictionary<string, byte[]>();
        for (int at = 0; at < root.Length && root[at] != 0; at += root[at])
        {
            var record = root[at..];
            string id = Encoding.ASCII.GetString(record.Slice(33, record[32]));
            if ((record[25] & 2) != 0) continue;                     // "." and ".."
            int extent = (int)BinaryPrimitives.ReadUInt32LittleEndian(record[2..]), length = (int)BinaryPrimitives.ReadUInt32LittleEndian(record[10..]);
            Assert.Equal((uint)extent, BinaryPrimitives.ReadUInt32BigEndian(record[6..]));
            files[id] = image.AsSpan(extent * 2048, length).ToArray();
        }
        return files;
    }

    [Fact]
    public void FilesAreInTheRootDirectoryUnderIso9660Names()
    {
        var files = ReadRoot(Iso9660Image.Build("cidata", Seed));
        Assert.Equal(["META-DATA;1", "NETWORK-CONFIG;1", "USER-DATA;1"], files.Keys.Order());
        Assert.Equal(Seed[0].Item2, files["USER-DATA;1"]);
        Assert.Equal(Seed[2].Item2, files["NETWORK-CONFIG;1"]);
    }

    [Fact]
    public void BlkidSeesAnIso9660VolumeLabelledCidata()
    {
        string path = Path.Combine(_dir, "seed.iso");
        File.WriteAllBytes(path, Iso9660Image.Build("cidata", Seed));
        var psi = new ProcessStartInfo("blkid", ["-p", "-o", "export", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var blkid = Process.Start(psi)!;
        string output = blkid.StandardOutput.ReadToEnd();
        blkid.WaitForExit();
        Assert.True(blkid.ExitCode == 0, blkid.StandardError.ReadToEnd());
        Assert.Contains("TYPE=iso9660", output);
        Assert.Contains("LABEL=cidata", output);
    }

    [Fact]
    public void NamesIso9660CannotHoldAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Iso9660Image.Build("cidata", [("a;b", [])]));
        Assert.Throws<ArgumentException>(() => Iso9660Image.Build("cidata", [("dir/file", [])]));
        Assert.Throws<ArgumentException>(() => Iso9660Image.Build("cidata", [("same", []), ("SAME", [])]));
        Assert.Throws<ArgumentException>(() => Iso9660Image.Build("", [("x", [])]));
    }
}
