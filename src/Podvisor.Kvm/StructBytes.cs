using System.Runtime.InteropServices;

namespace Podvisor.Kvm;

/// <summary>
/// KVM's state structs as plain bytes and back: how vCPU and irqchip state leave one host and enter
/// another (the layouts are the kernel's ABI, the same on both ends of a migration).
/// </summary>
public static class StructBytes
{
    public static byte[] From<T>(in T value) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    /// <summary>The struct in <paramref name="bytes"/>; <paramref name="what"/> names it when the size is wrong.</summary>
    public static T To<T>(ReadOnlySpan<byte> bytes, string what) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (bytes.Length != size) throw new ArgumentException($"{what}: {bytes.Length} bytes saved, the struct has {size}");
        return MemoryMarshal.Read<T>(bytes);
    }
}
