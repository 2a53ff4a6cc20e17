using System.Buffers.Binary;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>
/// The driver side of one split virtqueue over test guest memory: writes descriptors and available-ring
/// entries the way Linux does, or any bytes a hostile driver might, and reads back the used ring.
/// </summary>
internal sealed class FakeDriver(IGuestMemory memory, ushort size, ulong descTable = 0x1000, ulong availRing = 0x3000, ulong usedRing = 0x4000)
{
    private ushort _nextDescriptor, _availIdx, _usedSeen;

    public IGuestMemory Memory => memory;
    public ushort Size => size;
    public GuestAddress DescriptorTable => new(descTable);
    public GuestAddress AvailRing => new(availRing);
    public GuestAddress UsedRing => new(usedRing);

    /// <summary>Points <paramref name="queue"/> at this driver's rings and makes it ready.</summary>
    public Virtqueue Attach(Virtqueue queue, bool eventIndex = false, bool indirect = true)
    {
        queue.Size = size;
        queue.DescriptorTable = DescriptorTable;
        queue.AvailRing = AvailRing;
        queue.UsedRing = UsedRing;
        queue.EventIndex = eventIndex;
        queue.IndirectDescriptors = indirect;
        Assert.Null(queue.TryMakeReady(memory));
        return queue;
    }

    public void WriteDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next) =>
        WriteDescriptorAt(new GuestAddress(descTable), index, address, length, flags, next);

    public void WriteDescriptorAt(GuestAddress table, ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        var d = memory.GetSpan(table.Add(16UL * index), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Writes a chain of fresh descriptors for the buffers and publishes its head; returns the head.</summary>
    public ushort AddChain(params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        ushort head = _nextDescriptor;
        for (int i = 0; i < buffers.Length; i++)
        {
            ushort index = (ushort)((head + i) % size);
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].Writable ? Descriptor.FlagWrite : 0) | (last ? 0 : Descriptor.FlagNext));
            WriteDescriptor(index, buffers[i].Address, buffers[i].Length, flags, (ushort)((index + 1) % size));
        }
        _nextDescriptor = (ushort)((head + buffers.Length) % size);
        Publish(head);
        return head;
    }

    /// <summary>A chain of one indirect descriptor whose table (at <paramref name="table"/>) holds the buffers.</summary>
    public ushort AddIndirectChain(GuestAddress table, params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].Writable ? Descriptor.FlagWrite : 0) | (last ? 0 : Descriptor.FlagNext));
            WriteDescriptorAt(table, (ushort)i, buffers[i].Address, buffers[i].Length, flags, (ushort)(i + 1));
        }
        ushort head = _nextDescriptor;
        WriteDescriptor(head, table.Value, (uint)(16 * buffers.Length), Descriptor.FlagIndirect, 0);
        _nextDescriptor = (ushort)((head + 1) % size);
        Publish(head);
        return head;
    }

    /// <summary>Puts <paramref name="head"/> in the next available-ring slot and bumps the index.</summary>
    public void Publish(ushort head)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(memory.GetSpan(AvailRing.Add(4 + 2UL * (ushort)(_availIdx % size)), 2), head);
        _availIdx++;
        SetAvailIndex(_availIdx);
    }

    public void SetAvailIndex(ushort value)
    {
        _availIdx = value;
        BinaryPrimitives.WriteUInt16LittleEndian(memory.GetSpan(AvailRing.Add(2), 2), value);
    }

    public void SetAvailFlags(ushort flags) => BinaryPrimitives.WriteUInt16LittleEndian(memory.GetSpan(AvailRing, 2), flags);

    /// <summary>With event index: interrupt me once the used index passes <paramref name="usedEvent"/>.</summary>
    public void SetUsedEvent(ushort usedEvent) =>
        BinaryPrimitives.WriteUInt16LittleEndian(memory.GetSpan(AvailRing.Add(4 + 2UL * size), 2), usedEvent);

    /// <summary>The device's avail_event: it wants a notification once the available index passes it.</summary>
    public ushort AvailEvent => BinaryPrimitives.ReadUInt16LittleEndian(memory.GetReadOnlySpan(UsedRing.Add(4 + 8UL * size), 2));

    public ushort UsedIndex => BinaryPrimitives.ReadUInt16LittleEndian(memory.GetReadOnlySpan(UsedRing.Add(2), 2));

    /// <summary>The used entries the device added since the last call: (head, written length).</summary>
    public List<(ushort Head, uint Length)> TakeUsed()
    {
        var entries = new List<(ushort, uint)>();
        ushort idx = UsedIndex;
        for (; _usedSeen != idx; _usedSeen++)
        {
            var e = memory.GetReadOnlySpan(UsedRing.Add(4 + 8UL * (ushort)(_usedSeen % size)), 8);
            entries.Add(((ushort)BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..])));
        }
        return entries;
    }
}
