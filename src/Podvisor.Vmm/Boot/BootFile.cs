namespace Podvisor.Vmm.Boot;

/// <summary>Reads part of a boot file (a kernel, an initrd) straight into guest RAM, refusing a file whose length changed
/// since it was checked.</summary>
internal static class BootFile
{
    public static void ReadExactly(string path, long expectedLength, long offset, Span<byte> destination, string what)
    {
        try
        {
            using var file = File.OpenHandle(path);
            long length = RandomAccess.GetLength(file);
            if (length != expectedLength)
                throw new BootException($"{what} {path} changed since it was checked ({expectedLength} bytes then, {length} now)");
            int done = 0;
            while (done < destination.Length)
            {
                int n = RandomAccess.Read(file, destination[done..], offset + done);
                if (n <= 0) throw new BootException($"{what} {path} ended early");
                done += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootException($"cannot read {what} {path}: {e.Message}");
        }
    }
}
