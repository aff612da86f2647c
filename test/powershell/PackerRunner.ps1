<#
    Runs the guest scripts the way Packer's `powershell` provisioner runs them on the build VM
    (hashicorp/packer provisioner/powershell/provisioner.go and packer-plugin-sdk guestexec/elevated.go):
    - the script is uploaded to c:/Windows/Temp/script-<uuid>.ps1;
    - environment_vars, plus PACKER_BUILD_NAME and PACKER_BUILDER_TYPE, sorted by name, each value with
      $ " ` ' escaped by a backtick, are written as `$env:NAME="value"; ` to
      c:/Windows/Temp/packer-ps-env-vars-<uuid>.ps1;
    - the command is
      powershell -executionpolicy bypass "& { if (Test-Path variable:global:ProgressPreference){set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'};. <vars>; &'<script>'; exit $LastExitCode }"
      and the step fails unless its exit code is 0;
    - with elevated_user the same command runs in a scheduled task (a local logon, not WinRM) as
      `cmd /c <command> > <log> 2>&1`; the wrapper prints the log and exits with the task's result.
    The machine is the fake Windows of FakeWindows.ps1; its C: drive is the folder C of the machine.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$RepositoryRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$PackerBuildName = 'w365-image'
$PackerBuilderType = 'azure-arm'

function Get-GuestInterpreter {
    <# The interpreter the child runs: Windows PowerShell 5.1 where this suite runs on it, else this pwsh. #>
    if ($PSVersionTable.PSEdition -eq 'Desktop') {
        return @{ File = (Join-Path $PSHOME 'powershell.exe'); Prefix = ''; IsWindowsPowerShell = $true }
    }
    foreach ($name in @('pwsh', 'pwsh.exe')) {
        $candidate = Join-Path $PSHOME $name
        if (Test-Path -LiteralPath $candidate -PathType Leaf) {
            return @{ File = $candidate; Prefix = ''; IsWindowsPowerShell = $false }
        }
    }
    # PowerShell as a .NET tool: the host is dotnet, the program pwsh.dll.
    return @{ File = (Get-Process -Id $PID).Path; Prefix = "`"$(Join-Path $PSHOME 'pwsh.dll')`" "; IsWindowsPowerShell = $false }
}

function ConvertTo-MachinePath {
    <# A guest path (C:\..., c:/...) as the fake machine's folder. #>
    param([Parameter(Mandatory)] [string] $Machine, [AllowEmptyString()] [string] $GuestPath)
    if ($GuestPath -notmatch '^[Cc]:[\\/]') {
        return $GuestPath
    }
    return (Join-Path (Join-Path $Machine 'C') ($GuestPath.Substring(3) -replace '\\', '/'))
}

function ConvertTo-PackerEscaped {
    <# Packer's psEscape: $ " ` ' each get a backtick (one pass, like Go's strings.NewReplacer). #>
    param([AllowEmptyString()] [string] $Value)
    $builder = New-Object System.Text.StringBuilder
    foreach ($char in $Value.ToCharArray()) {
        if ('$', '"', '`', "'" -contains [string]$char) {
            $null = $builder.Append('`')
        }
        $null = $builder.Append($char)
    }
    return $builder.ToString()
}

function New-PackerVarsFile {
    param([string[]] $EnvironmentVars, [bool] $EmulateWindowsPowerShell)
    $vars = @{ PACKER_BUILD_NAME = $PackerBuildName; PACKER_BUILDER_TYPE = $PackerBuilderType }
    foreach ($entry in $EnvironmentVars) {
        $pair = $entry.Split('=', 2)
        $vars[$pair[0]] = ConvertTo-PackerEscaped $pair[1]
    }
    $text = ''
    foreach ($key in @($vars.Keys | Sort-Object -CaseSensitive)) {
        if ($EmulateWindowsPowerShell -and $vars[$key] -eq '') {
            # Windows PowerShell 5.1 difference: `$env:NAME=""` deletes NAME there, while pwsh 7.5+ keeps it
            # as an empty variable. On pwsh the line is written as what 5.1 does with it: NAME arrives unset.
            $text += "`$env:$key=`$null; "
        }
        else {
            $text += "`$env:$key=`"$($vars[$key])`"; "
        }
    }
    return $text
}

function Set-FakeSession {
    param([string] $Machine, [string] $Kind)
    $statePath = Join-Path $Machine 'state.clixml'
    $state = Import-Clixml -LiteralPath $statePath
    $state.session = $Kind
    $state | Export-Clixml -LiteralPath $statePath -Depth 20
}

function Invoke-PackerPowerShell {
    <#
        One `powershell` provisioner with a script (or inline lines), as Packer runs it. Returns ExitCode,
        Output (stdout and stderr, as the build log shows them) and Command.
    #>
    param(
        [Parameter(Mandatory)] [string] $Machine,
        [string] $Script,
        [string[]] $Inline,
        [string[]] $EnvironmentVars = @(),
        [switch] $Elevated,
        [int] $TimeoutSeconds = 180
    )
    $interpreter = Get-GuestInterpreter
    $uuid = [guid]::NewGuid().ToString()
    $guestScript = "c:/Windows/Temp/script-$uuid.ps1"
    $guestVars = "c:/Windows/Temp/packer-ps-env-vars-$uuid.ps1"
    $scriptPath = ConvertTo-MachinePath -Machine $Machine -GuestPath $guestScript
    $varsPath = ConvertTo-MachinePath -Machine $Machine -GuestPath $guestVars
    New-Item -ItemType Directory -Path (Split-Path -Parent $scriptPath) -Force | Out-Null
    if ($Inline) {
        [System.IO.File]::WriteAllText($scriptPath, (($Inline -join "`n") + "`n"))
    }
    else {
        Copy-Item -LiteralPath $Script -Destination $scriptPath
        if ($env:W365_TEST_COVERAGE) {
            # Coverage maps the uploaded copy back to the repository's script.
            [System.IO.File]::AppendAllText("$($env:W365_TEST_COVERAGE).map", "$scriptPath|$Script`n")
        }
    }
    # Guest paths in values (W365_BUILD_DIR=C:\w365-build) name the fake machine's folders.
    $mapped = @($EnvironmentVars | ForEach-Object {
            $pair = $_.Split('=', 2)
            "$($pair[0])=$(ConvertTo-MachinePath -Machine $Machine -GuestPath $pair[1])"
        })
    $varsText = New-PackerVarsFile -EnvironmentVars $mapped -EmulateWindowsPowerShell (-not $interpreter.IsWindowsPowerShell)
    [System.IO.File]::WriteAllText($varsPath, $varsText)

    $inner = "& { if (Test-Path variable:global:ProgressPreference){set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'};. $varsPath; &'$scriptPath'; exit `$LastExitCode }"
    # pwsh difference: its first positional argument is -File; powershell.exe's is -Command. Packer's
    # use_pwsh form names -command, so on pwsh the same string goes after -command.
    $commandSwitch = ''
    if (-not $interpreter.IsWindowsPowerShell) {
        $commandSwitch = '-command '
    }
    $arguments = "$($interpreter.Prefix)-executionpolicy bypass $commandSwitch`"$inner`""

    $session = 'winrm'
    if ($Elevated) {
        $session = 'scheduled-task'
    }
    Set-FakeSession -Machine $Machine -Kind $session
    try {
        $start = New-Object System.Diagnostics.ProcessStartInfo
        $start.FileName = $interpreter.File
        $start.Arguments = $arguments
        $start.UseShellExecute = $false
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.RedirectStandardInput = $true
        $start.EnvironmentVariables['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
        $start.EnvironmentVariables['POWERSHELL_UPDATECHECK'] = 'Off'
        # Windows sets COMPUTERNAME in every process; the fake machine's name stands in for it.
        $start.EnvironmentVariables['COMPUTERNAME'] = 'pkrvmw365test'
        $process = [System.Diagnostics.Process]::Start($start)
        $process.StandardInput.Close()
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $stderr = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill()
            throw "The provisioner did not finish within $TimeoutSeconds s: $Script"
        }
        $process.WaitForExit()
        $output = $stdout.Result + $stderr.Result
        $exitCode = $process.ExitCode
    }
    finally {
        Set-FakeSession -Machine $Machine -Kind 'winrm'
    }
    return [pscustomobject]@{ ExitCode = $exitCode; Output = $output; Command = "$($interpreter.File) $arguments"; VarsText = $varsText }
}

function Invoke-PackerFileUpload {
    <# The `file` provisioner (upload): copies a repository file to a guest path. #>
    param([string] $Machine, [string] $Source, [string] $GuestDestination)
    $destination = ConvertTo-MachinePath -Machine $Machine -GuestPath $GuestDestination
    New-Item -ItemType Directory -Path (Split-Path -Parent $destination) -Force | Out-Null
    Copy-Item -LiteralPath $Source -Destination $destination -Force
    if ($env:W365_TEST_COVERAGE) {
        [System.IO.File]::AppendAllText("$($env:W365_TEST_COVERAGE).map", "$destination|$Source`n")
    }
}

function Restart-FakeWindows {
    <# The `windows-restart` provisioner: what a restart settles (pending operations) and what it resets. #>
    param([string] $Machine)
    $statePath = Join-Path $Machine 'state.clixml'
    $state = Import-Clixml -LiteralPath $statePath
    foreach ($key in @($state.registry.Keys)) {
        if ($key -like '*\windowsupdate\auto update\rebootrequired' -or $key -like '*\component based servicing\rebootpending') {
            $state.registry.Remove($key)
        }
    }
    $state.restarts = [int]$state.restarts + 1
    $state.events.Add('restart') | Out-Null
    $state | Export-Clixml -LiteralPath $statePath -Depth 20
}
