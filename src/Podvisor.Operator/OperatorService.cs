using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator;

/// <summary>
/// The operator process: waits to lead, then runs the informers and controllers; losing the lease stops
/// everything and ends the process (a fresh start re-reads the world, as controller-runtime managers do).
/// </summary>
public sealed class OperatorService(IKubernetes client, OperatorOptions options, IHostApplicationLifetime lifetime, ILogger<OperatorService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var election = new LeaderElection(client, options.LeaseNamespace, options.LeaseName, options.Identity, m => logger.LogInformation("{Message}", m));
        logger.LogInformation("{Identity}: waiting for the lease {Namespace}/{Lease}", options.Identity, options.LeaseNamespace, options.LeaseName);
        await election.RunAsync(RunControllersAsync, stoppingToken);
        if (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning("{Identity}: lost the lease; exiting", options.Identity);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    private async Task RunControllersAsync(CancellationToken leading)
    {
        void Log(string message) => logger.LogInformation("{Message}", message);
        using var launchers = new LauncherClient(options.Launcher.ControlPort);
        var controllers = new OperatorControllers(client, options.Launcher, options.Migrations, launchers, Log, options.Workers);
        OperatorTelemetry.Leading = true;
        try
        {
            await controllers.RunAsync(leading, synced => logger.LogInformation("{Identity}: {Synced}", options.Identity, synced));
        }
        finally
        {
            OperatorTelemetry.Leading = false;
        }
    }
}
