using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Podvisor.Launcher;

/// <summary>The launcher's Kestrel servers (the control API, the metrics endpoint): how each is made and started.</summary>
internal static class LauncherWebHost
{
    /// <summary>A slim host listening where <paramref name="listen"/> says; the launcher logs for itself, ASP.NET Core does not.</summary>
    public static WebApplicationBuilder CreateBuilder(Action<KestrelServerOptions> listen)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(listen);
        return builder;
    }

    /// <summary>Starts <paramref name="app"/>; returns the port it listens on (the one asked for, or the system's pick for 0).</summary>
    public static async Task<int> StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        await app.StartAsync(cancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First()).Port;
    }
}
