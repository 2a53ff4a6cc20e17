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

    private BzImage(byte[] image, int setupSize, ushort protocol, string path) : base(path)
    {
        Image = image;
        SetupSize = setupSize;
        Protocol = protocol;
    }

    public byte[] Image { get; }

    /// <summary>Bytes of real-mode setup code before the protected-mode kernel.</summary>
    public int SetupSize { get; }

    public ushort Protocol { get; }

    /// <summary>The setup header as it appears from offset 0x1f1 (copied into the zero page there).</summary>
    public ReadOnlySpan<byte> SetupHeader => Image.AsSpan(SetupHeaderOffset, 0x202 + Image[0x201] - SetupHeaderOffset);

    public ReadOnlySpan<byte> ProtectedModeKernel => Image.AsSpan(SetupSize);

    public uint InitrdAddressMax => BinaryPrimitives.ReadUInt32LittleEndian(Image.AsSpan(0x22c));

    public uint CommandLineSize => Protocol >= 0x0206 ? BinaryPrimitives.ReadUInt32LittleEndian(Image.AsSpan(0x238)) : 255;

    /// <summary>Memory the kernel needs from its load address while it decompresses (init_size).</summary>
    public uint InitSize => BinaryPrimitives.ReadUInt32LittleEndian(Image.AsSpan(0x260));

    public static new BzImage Load(string path)
    {
        byte[] image;
        try
        {
            image = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootException($"cannot read kernel {path}: {e.Message}");
        }
        return Parse(image, path);
    }

    public static BzImage Parse(byte[] image, string name = "kernel")
    {
        if (image.Length < 0x264 || BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x1fe)) != 0xAA55
            || BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(0x202)) != HeaderMagic)
            throw new BootException($"{name} is not a Linux kernel: neither a bzImage (no boot-protocol header \"HdrS\" at 0x202) nor an ELF vmlinux");
        ushort protocol = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x206));
        if (protocol < MinimumProtocol)
            throw new BootException($"{name} speaks boot protocol {protocol >> 8}.{protocol & 0xff}; Podvisor needs 2.12 or later (Linux 3.8+)");
        if ((image[0x211] & LoadedHigh) == 0)
            throw new BootException($"{name} is a zImage (loaded low); only bzImage kernels are supported");
        if ((BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(0x236)) & XlfKernel64) == 0)
            throw new BootException($"{name} has no 64-bit entry point (XLF_KERNEL_64): a 32-bit kernel?");
        int setupSects = image[0x1f1] == 0 ? 4 : image[0x1f1];
        int setupSize = (setupSects + 1) * 512;
        if (setupSize >= image.Length)
            throw new BootException($"{name} is truncated: its setup code claims {setupSize} of {image.Length} bytes");
        int headerEnd = 0x202 + image[0x201];
        if (headerEnd > setupSize || headerEnd > 0x290)
            throw new BootException($"{name} has a malformed setup header (ends at 0x{headerEnd:x})");
        return new BzImage(image, setupSize, protocol, name);
    }
}
