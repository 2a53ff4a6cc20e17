namespace Podvisor.Vmm.Boot;

/// <summary>A kernel Podvisor can boot: a bzImage (64-bit Linux boot protocol) or an ELF vmlinux with a PVH entry.</summary>
public abstract class KernelImage
{
    private protected KernelImage(string path) => Path = path;

    public string Path { get; }

    /// <summary>Reads and checks the kernel at <paramref name="path"/>, recognising its format by its first bytes.</summary>
    public static KernelImage Load(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        try
        {
            using var file = File.OpenHandle(path);
            int read = RandomAccess.Read(file, magic, 0);
            if (read == 4 && magic.SequenceEqual(PvhElfKernel.ElfMagic)) return PvhElfKernel.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootException($"cannot read kernel {path}: {e.Message}");
        }
        return BzImage.Load(path);
    }
}
