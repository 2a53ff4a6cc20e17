using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Memory;

public static class GuestMemoryExtensions
{
    public static void Write(this IGuestMemory memory, GuestAddress address, ReadOnlySpan<byte> data) =>
        data.CopyTo(memory.GetSpan(address, data.Length));

    public static void Read(this IGuestMemory memory, GuestAddress address, Span<byte> destination) =>
        memory.GetReadOnlySpan(address, destination.Length).CopyTo(destination);

    public static T ReadValue<T>(this IGuestMemory memory, GuestAddress address) where T : unmanaged =>
        MemoryMarshal.Read<T>(memory.GetReadOnlySpan(address, Marshal.SizeOf<T>()));

    public static void WriteValue<T>(this IGuestMemory memory, GuestAddress address, T value) where T : unmanaged =>
        MemoryMarshal.Write(memory.GetSpan(address, Marshal.SizeOf<T>()), in value);
}
