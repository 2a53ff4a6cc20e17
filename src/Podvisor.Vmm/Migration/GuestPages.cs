namespace Podvisor.Vmm.Migration;

/// <summary>Guest RAM pages [<paramref name="firstPage"/>, +<paramref name="pages"/>) of one run (<see cref="PageBatch.NextRun"/>).</summary>
public delegate Memory<byte> GuestPages(ulong firstPage, int pages);
