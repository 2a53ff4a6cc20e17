namespace Podvisor.Operator.Controllers;

/// <summary>How many migrations run at once (KubeVirt's defaults: 5 in the cluster, 2 leaving any one node).</summary>
public sealed record MigrationLimits(int PerCluster = 5, int OutboundPerNode = 2);
