namespace Podvisor.Vmm.Boot;

/// <summary>An initramfs on disk: checked when opened, copied straight into guest RAM when the kernel is loaded (the VMM
/// keeps no copy of its own).</summary>
public sealed class InitrdFile
{
    private InitrdFile(string path, long length)
    {
        Path = path;
        Length = (int)length;
    }

    public string Path { get; }

    public int Length { get; }

    public static InitrdFile Open(string path)
    {
        long length;
        try
        {
            using var file = File.OpenHandle(path);
            length = RandomAccess.GetLength(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootException($"cannot read initrd {path}: {e.Message}");
        }
        if (length > int.MaxValue) throw new BootException($"initrd {path} is {length >> 20} MiB; at most 2 GiB is loaded");
        return new InitrdFile(path, length);
    }

    public void ReadInto(Span<byte> destination) => BootFile.ReadExactly(Path, Length, 0, destination, "initrd");
}
