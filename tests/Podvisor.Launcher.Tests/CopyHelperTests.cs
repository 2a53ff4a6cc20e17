using System.Diagnostics;
using Podvisor.Testing;
using Podvisor.EmulatedHost;

namespace Podvisor.Launcher.Tests;

/// <summary>podvisor-copy, as the init containers of containerDisk and kernelBoot.container images run it.</summary>
public sealed class CopyHelperTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-copy-").FullName;
    private readonly string _helper;

    public CopyHelperTests()
    {
        // Installed as the pod's first init container does it.
        var (code, output) = Run(LauncherBinary.Command[0], [.. LauncherBinary.Command.Skip(1), "install-helpers", Path.Combine(_dir, "bin")]);
        Assert.True(code == 0, output);
        _helper = Path.Combine(_dir, "bin", Helpers.Copy);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    [Fact]
    public void ItIsStaticAndExecutable()
    {
        Assert.True(ElfInfo.IsStatic64(_helper), "podvisor-copy must not need a libc: the images it runs in have none");
        Assert.True(File.GetUnixFileMode(_helper).HasFlag(UnixFileMode.OtherExecute));
    }

    [Fact]
    public void TheOnlyFileOfADiskFolderBecomesDiskImgAndStaysSparse()
    {
        string image = Folder("image-disk"), volume = Folder("volume");
        string source = Path.Combine(image, "fedora.img");
        using (var file = new FileStream(source, FileMode.CreateNew))
        {
            file.SetLength(64L << 20);                              // 64 MiB, almost all hole
            file.Write("boot sector"u8);
            file.Seek(32L << 20, SeekOrigin.Begin);
            file.Write("middle"u8);
        }
        var (code, output) = Run(_helper, image, volume);
        Assert.True(code == 0, output);
        string copy = Path.Combine(volume, "disk.img");
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(copy));
        Assert.False(File.Exists(copy + ".partial"));
        var (_, blocks) = Run("stat", "-c", "%b", copy);
        Assert.True(long.Parse(blocks.Trim()) * 512 < 1 << 20, $"the copy took {blocks.Trim()} blocks: holes were filled");
    }

    [Fact]
    public void KernelAndInitrdPairsAreCopiedToTheirPaths()
    {
        string image = Folder("image-kernel"), kernel = Folder("kernel");
        File.WriteAllText(Path.Combine(image, "vmlinuz"), "kernel bytes");
        File.WriteAllText(Path.Combine(image, "initrd"), "initrd bytes");
        var (code, output) = Run(_helper, Path.Combine(image, "vmlinuz"), Path.Combine(kernel, "kernel"), Path.Combine(image, "initrd"), Path.Combine(kernel, "initrd"));
        Assert.True(code == 0, output);
        Assert.Equal("kernel bytes", File.ReadAllText(Path.Combine(kernel, "kernel")));
        Assert.Equal("initrd bytes", File.ReadAllText(Path.Combine(kernel, "initrd")));
    }

    [Fact]
    public void WhatItCannotCopyItSaysWhy()
    {
        string two = Folder("two"), qcow = Folder("qcow"), volume = Folder("v");
        File.WriteAllText(Path.Combine(two, "a.img"), "");
        File.WriteAllText(Path.Combine(two, "b.img"), "");
        File.WriteAllText(Path.Combine(qcow, "disk.qcow2"), "");
        Assert.Contains("more than one file in", Run(_helper, two, volume).Output);
        Assert.Contains("qcow2 images are not supported", Run(_helper, qcow, volume).Output);
        Assert.Contains("no file in", Run(_helper, Folder("empty"), volume).Output);
        var (code, output) = Run(_helper, Path.Combine(_dir, "missing"), volume);
        Assert.Equal(1, code);
        Assert.Contains("cannot find", output);
        Assert.Equal(2, Run(_helper, "only-one-argument").Code);
        Assert.Empty(Directory.GetFiles(volume));                   // nothing half-written left behind
    }
}
