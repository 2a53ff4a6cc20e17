namespace Podvisor.Api;

/// <summary>KubeVirt's run strategies.</summary>
public static class RunStrategies
{
    /// <summary>Always running: restarted whenever it stops, whatever the reason.</summary>
    public const string Always = "Always";
    /// <summary>Restarted after a failure; a guest that shuts itself down stays down.</summary>
    public const string RerunOnFailure = "RerunOnFailure";
    /// <summary>Started and stopped only by explicit start/stop requests.</summary>
    public const string Manual = "Manual";
    /// <summary>Not running.</summary>
    public const string Halted = "Halted";
    /// <summary>Runs once to completion and is not restarted.</summary>
    public const string Once = "Once";

    public static readonly IReadOnlyList<string> All = [Always, RerunOnFailure, Manual, Halted, Once];
}
