using System.Buffers.Binary;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// A Linux bzImage, checked against the x86 boot protocol (Documentation/arch/x86/boot.rst): the real-mode
/// setup header we copy into the zero page, and the protected-mode kernel we load at 1 MiB and enter at
/// its 64-bit entry point (offset 0x200).
/// </summary>
public sealed class BzImage : KernelImage
{
    public const int SetupHeaderOffset = 0x1f1;
    private const uint HeaderMagic = 0x53726448; // "HdrS"
    private const ushort MinimumProtocol = 0x020c; // 2.12: xloadflags, 64-bit entry
    private const ushort XlfKernel64 = 1 << 0;
    private const byte LoadedHigh = 1 << 0;

    private readonly byte[] _setup;
    private readonly byte[]? _kernelInMemory;
    private readonly long _fileLength;

    private BzImage(byte[] setup, int setupSize, ushort protocol, string path, long fileLength, byte[]? kernelInMemory) : base(path)
    {
        _setup = setup;
        SetupSize = setupSize;
        Protocol = protocol;
        _fileLength = fileLength;
        _kernelInMemory = kernelInMemory;
    }

    /// <summary>Bytes of real-mode setup code before the protected-mode kernel.</summary>
    public int SetupSize { get; }

    public ushort Protocol { get; }

    /// <summary>The setup header as it appears from offset 0x1f1 (copied into the zero page there).</summary>
    public ReadOnlySpan<byte> SetupHeader => _setup.AsSpan(SetupHeaderOffset, 0x202 + _setup[0x201] - SetupHeaderOffset);

    /// <summary>Bytes of the protected-mode kernel (everything after the setup code).</summary>
    public int ProtectedModeKernelLength => (int)(_fileLength - SetupSize);

    public uint InitrdAddressMax => BinaryPrimitives.ReadUInt32LittleEndian(_setup.AsSpan(0x22c));

    public uint CommandLineSize => Protocol >= 0x0206 ? BinaryPrimitives.ReadUInt32LittleEndian(_setup.AsSpan(0x238)) : 255;

    /// <summary>Memory the kernel needs from its load address while it decompresses (init_size).</summary>
    public uint InitSize => BinaryPrimitives.ReadUInt32LittleEndian(_setup.AsSpan(0x260));

    /// <summary>
    /// Copies the protected-mode kernel into <paramref name="destination"/> (guest RAM): straight from the file, so the
    /// VMM holds no copy of the kernel of its own (megabytes, for the VM's whole life). A file that changed length since
    /// it was checked is refused.
    /// </summary>
    public void ReadProtectedModeKernel(Span<byte> destination)
    {
        if (destination.Length != ProtectedModeKernelLength) throw new ArgumentException("the destination must fit the kernel exactly", nameof(destination));
        if (_kernelInMemory is not null)
        {
            _kernelInMemory.AsSpan(SetupSize).CopyTo(destination);
            return;
        }
        BootFile.ReadExactly(Path, _fileLength, SetupSize, destination, "kernel");
    }

    /// <summary>Reads and checks the header and setup code of the bzImage at <paramref name="path"/>; the kernel itself
    /// is read when it is loaded (<see cref="ReadProtectedModeKernel"/>).</summary>
    public static new BzImage Load(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            long length = RandomAccess.GetLength(file);
            var head = new byte[(int)Math.Min(length, 0x290)];
            if (RandomAccess.Read(file, head, 0) != head.Length) throw new IOException("short read");
            int setupSize = Check(head, length, path);
            var setup = new byte[setupSize];         // begins with the header just checked
            if (RandomAccess.Read(file, setup, 0) != setupSize) throw new IOException("short read");
            return new BzImage(setup, setupSize, BinaryPrimitives.ReadUInt16LittleEndian(setup.AsSpan(0x206)), path, length, kernelInMemory: null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootException($"cannot read kernel {path}: {e.Message}");
        }
    }

    /// <summary>A bzImage already in memory (kept whole).</summary>
    public static BzImage Parse(byte[] image, string name = "kernel")
    {
        int setupSize = Check(image, image.Length, name);
        return new BzImage(image[..setupSize], setupSize, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x206)), name, image.Length, image);
    }

    /// <summary>Checks the boot-protocol header in <paramref name="head"/> (the file's first bytes, at least up to 0x264,
    /// of <paramref name="length"/> in all); returns the setup code's size.</summary>
    private static int Check(ReadOnlySpan<byte> head, long length, string name)
    {
        if (head.Length < 0x264 || BinaryPrimitives.ReadUInt16LittleEndian(head[0x1fe..]) != 0xAA55
            || BinaryPrimitives.ReadUInt32LittleEndian(head[0x202..]) != HeaderMagic)
            throw new BootException($"{name} is not a Linux kernel: neither a bzImage (no boot-protocol header \"HdrS\" at 0x202) nor an ELF vmlinux");
        ushort protocol = BinaryPrimitives.ReadUInt16LittleEndian(head[0x206..]);
        if (protocol < MinimumProtocol)
            throw new BootException($"{name} speaks boot protocol {protocol >> 8}.{protocol & 0xff}; Podvisor needs 2.12 or later (Linux 3.8+)");
        if ((head[0x211] & LoadedHigh) == 0)
            throw new BootException($"{name} is a zImage (loaded low); only bzImage kernels are supported");
        if ((BinaryPrimitives.ReadUInt16LittleEndian(head[0x236..]) & XlfKernel64) == 0)
            throw new BootException($"{name} has no 64-bit entry point (XLF_KERNEL_64): a 32-bit kernel?");
        int setupSects = head[0x1f1] == 0 ? 4 : head[0x1f1];
        int setupSize = (setupSects + 1) * 512;
        if (setupSize >= length)
            throw new BootException($"{name} is truncated: its setup code claims {setupSize} of {length} bytes");
        if (length - setupSize > int.MaxValue)
            throw new BootException($"{name}: a protected-mode kernel of {(length - setupSize) >> 20} MiB is too large");
        int headerEnd = 0x202 + head[0x201];
        if (headerEnd > setupSize || headerEnd > 0x290)
            throw new BootException($"{name} has a malformed setup header (ends at 0x{headerEnd:x})");
        return setupSize;
    }
}
