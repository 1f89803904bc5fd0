using ControlPlane.Server.Api;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Diagnostics;
using ControlPlane.Server.Hosting;
using ControlPlane.Server.RateLimiting;
using ControlPlane.Server.Ui;
using ControlPlane.Server.Webhooks;

var output = ConsoleOutput.Plain;
try
{
    // appsettings.json is read from next to the executable, wherever it is started from.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions
    {
        Args = args.Where(a => a is not ("migrate" or "--restore-queries")).ToArray(),
        ContentRootPath = AppContext.BaseDirectory,
    });
    output = ConsoleOutput.From(builder.Configuration);
    var settings = ControlPlaneSettings.Read(builder.Configuration);
    using var startupLogs = output.CreateStartupLoggers(builder.Configuration);

    if (args.FirstOrDefault() == "migrate")
    {
        return await ServerCommands.MigrateAsync(settings, startupLogs, output, restoreQueries: args.Contains("--restore-queries"));
    }

    builder.AddControlPlaneHosting(settings.Hosting);
    builder.AddControlPlaneLogging(output);
    ServerCommands.CheckPortsAreFree(builder.Configuration, settings);
    await ServerCommands.PrepareStoresAsync(settings, startupLogs, output);
    var operatorToken = OperatorToken.Resolve(settings.Auth, settings.Storage);

    builder.AddControlPlaneApi();
    builder.AddControlPlaneWebhooks();
    builder.AddControlPlaneAuth(operatorToken);
    builder.AddControlPlaneRateLimiting(settings.RateLimiting);
    builder.AddControlPlaneTelemetry(settings.Tracing);
    builder.AddControlPlaneHealthChecks(settings.Storage);
    builder.AddControlPlaneSilo(settings);

    var app = builder.Build();
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseManagementPort(settings.Hosting);
    app.UseAuthentication();
    app.UseControlPlaneRateLimiting();
    app.UseAuthorization();
    app.MapControlPlaneOperations();
    app.MapAdminApi();
    app.MapAgentApi();
    app.MapGatewayApi();
    app.MapCustomerApi();
    app.MapWebUi();
    app.MapDiagnosticsApi(settings.Diagnostics);

    ServerCommands.PrintBanner(app, settings, operatorToken, output);
    await ServerCommands.RunAsync(app);
    return 0;
}
catch (StartupException e)
{
    output.Error(e.Message);
    return 1;
}
catch (Microsoft.Extensions.Options.OptionsValidationException e)
{
    output.Error($"invalid configuration: {string.Join("; ", e.Failures)}");
    return 1;
}
