namespace Podvisor.Cli.Cluster;

/// <summary>A cluster command cannot go on; the message says why and what to do next.</summary>
internal sealed class ClusterException(string message) : Exception(message);
