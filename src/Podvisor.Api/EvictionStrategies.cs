namespace Podvisor.Api;

/// <summary>KubeVirt's eviction strategies.</summary>
public static class EvictionStrategies
{
    public const string None = "None", LiveMigrate = "LiveMigrate", LiveMigrateIfPossible = "LiveMigrateIfPossible", External = "External";

    public static readonly IReadOnlyList<string> All = [None, LiveMigrate, LiveMigrateIfPossible, External];
}
