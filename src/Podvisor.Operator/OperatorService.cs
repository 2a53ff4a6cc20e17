using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
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
        var vms = CustomResourceInformers.Create<VirtualMachine>(client, "virtualmachines", Log);
        var vmis = CustomResourceInformers.Create<VirtualMachineInstance>(client, "virtualmachineinstances", Log);
        var migrations = CustomResourceInformers.Create<VirtualMachineInstanceMigration>(client, "virtualmachineinstancemigrations", Log);
        var pods = PodInformers.Create(client, LauncherLabels.Selector, VirtualMachineInstanceController.VmiKeyOf, Log);
        var events = new EventRecorder(client, "podvisor-operator", Log);
        var vmController = new VirtualMachineController(client, vms, vmis, events, Log, options.Workers);
        var vmiController = new VirtualMachineInstanceController(client, vmis, pods, events, options.Launcher, Log, options.Workers);
        using var launchers = new LauncherClient(options.Launcher.ControlPort);
        var migrationController = new MigrationController(client, migrations, vmis, pods, launchers, events, options.Launcher, options.Migrations, Log, options.Workers);
        var informers = new[]
        {
            Task.Run(() => vms.RunAsync(leading)), Task.Run(() => vmis.RunAsync(leading)), Task.Run(() => pods.RunAsync(leading)), Task.Run(() => migrations.RunAsync(leading)),
        };
        await Task.WhenAll(vms.Synced, vmis.Synced, pods.Synced, migrations.Synced).WaitAsync(leading);
        logger.LogInformation("{Identity}: caches synced ({Vms} VMs, {Vmis} instances, {Pods} launcher pods); controllers running",
            options.Identity, vms.List().Count, vmis.List().Count, pods.List().Count);
        await Task.WhenAll(vmController.Controller.RunAsync(leading), vmiController.Controller.RunAsync(leading), migrationController.Controller.RunAsync(leading));
        await Task.WhenAll(informers);
    }
}
