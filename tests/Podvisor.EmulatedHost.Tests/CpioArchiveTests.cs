using System.Diagnostics;

namespace Podvisor.EmulatedHost.Tests;

public sealed class CpioArchiveTests
{
    [Fact]
    public void GnuCpioReadsWhatWeWrite()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-cpio-").FullName;
        try
        {
            string archive = Path.Combine(dir, "a.cpio");
            using (var file = File.Create(archive))
            {
                var cpio = new CpioArchive(file);
                cpio.AddDirectory("bin");
                cpio.AddFile("bin/hello", "#!/bin/sh\necho hi\n"u8, 0x1ED);
                cpio.AddFile("odd-length", "abc"u8);
                cpio.AddSymlink("bin/sh", "busybox");
                cpio.Finish();
            }
            Assert.Equal(0, new FileInfo(archive).Length % 4);

            string listing = Run("cpio", $"-itv -F {archive}");
            Assert.Contains("drwxr-xr-x", listing);
            Assert.Matches(@"-rwxr-xr-x .* 18 .* bin/hello", listing);
            Assert.Matches(@"lrwxrwxrwx .* bin/sh -> busybox", listing);

            Run("cpio", $"-id --quiet -D {dir}/out -F {archive}");
            Assert.Equal("#!/bin/sh\necho hi\n", File.ReadAllText(Path.Combine(dir, "out", "bin", "hello")));
            Assert.Equal("abc", File.ReadAllText(Path.Combine(dir, "out", "odd-length")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ExtendAppendsAnAlignedArchiveAfterTheBaseImage()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-cpio-").FullName;
        try
        {
            string baseImage = Path.Combine(dir, "base.gz"), output = Path.Combine(dir, "out.img");
            File.WriteAllBytes(baseImage, [1, 2, 3, 4, 5]);             // 5 bytes: the next archive needs 3 of padding
            CpioArchive.Extend(baseImage, output, [("etc/guest-run", "echo hi\n"u8.ToArray(), 0x1ED)]);
            byte[] image = File.ReadAllBytes(output);
            Assert.Equal([1, 2, 3, 4, 5, 0, 0, 0], image[..8]);
            string archive = Path.Combine(dir, "added.cpio");
            File.WriteAllBytes(archive, image[8..]);
            Assert.Matches(@"-rwxr-xr-x .* etc/guest-run", Run("cpio", $"-itv -F {archive}"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed: {output}");
        return output;
    }
}
