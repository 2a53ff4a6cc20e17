using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// A migration's progress as the operator reports it in the migration's status: on a terminal one line redrawn in
/// place (phase, a bar of the bytes sent against those still to send, rounds); elsewhere (a log, a pipe) a line when
/// the phase changes and one every few seconds while memory is copied.
/// </summary>
internal sealed class MigrationProgress(TextWriter output, bool interactive)
{
    private const int BarWidth = 30;
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(5);
    private string? _lastPhase;
    private DateTime _lastLogged;
    private int _drawnWidth;

    public void Show(VirtualMachineInstanceMigrationStatus? status)
    {
        string phase = status?.Phase ?? MigrationPhases.Pending;
        string line = Describe(status);
        if (interactive)
        {
            // Pad over what the previous, longer line left.
            output.Write($"\r{line.PadRight(_drawnWidth)}");
            _drawnWidth = line.Length;
            output.Flush();
        }
        else if (phase != _lastPhase || (phase == MigrationPhases.Running && DateTime.UtcNow - _lastLogged >= LogEvery))
        {
            output.WriteLine(line);
            _lastLogged = DateTime.UtcNow;
        }
        _lastPhase = phase;
    }

    /// <summary>Ends the redrawn line so what follows starts on its own.</summary>
    public void Finish()
    {
        if (interactive && _drawnWidth > 0) output.WriteLine();
        _drawnWidth = 0;
    }

    public static string Describe(VirtualMachineInstanceMigrationStatus? status)
    {
        string phase = status?.Phase ?? MigrationPhases.Pending;
        if (status?.BytesTransferred is not { } sent) return phase;
        long remaining = status.RemainingBytes ?? 0;
        double done = sent + remaining == 0 ? 1 : (double)sent / (sent + remaining);
        int filled = (int)Math.Round(done * BarWidth);
        string rounds = status.Iterations is { } n ? $", round {n}" : "";
        return $"{phase,-15} [{new string('#', filled)}{new string('-', BarWidth - filled)}] {done * 100,3:0}%  {Mib(sent)} sent, {Mib(remaining)} to go{rounds}";
    }

    public static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):0.0} MiB";
}
