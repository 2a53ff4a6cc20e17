namespace Podvisor.Vmm.Migration;

/// <summary>One step through a page batch's words: a page of zeros, or data pages adjacent in guest RAM and on the wire.</summary>
public readonly record struct PageRun(ulong FirstPage, int Pages, bool Zeros);
