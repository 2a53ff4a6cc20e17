namespace Podvisor.Vmm.Diagnostics;

/// <summary>
/// Marks on the way from process start to a running guest ("kernel loaded at 41.2 ms"), written to
/// <see cref="Sink"/> when one is set (<c>PODVISOR_TRACE=1</c> for the CLI). Off by default and then free.
/// </summary>
public static class StartupTrace
{
    public static Action<string>? Sink { get; set; }

    public static void Mark(string phase)
    {
        if (Sink is { } sink) sink($"{ProcessClock.SinceStart.TotalMilliseconds,8:0.0} ms  {phase}");
    }
}
