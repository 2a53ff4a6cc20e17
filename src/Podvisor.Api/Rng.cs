namespace Podvisor.Api;

/// <summary>A virtio entropy device; it has no settings.</summary>
public sealed class Rng;
