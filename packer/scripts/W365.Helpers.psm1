<#
.SYNOPSIS
    Shared helpers for the w365-image guest scripts: a module, uploaded to the build VM beside nothing
    else and imported by every guest script with
        Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

.DESCRIPTION
    The one place that downloads files (retried, then checked by Authenticode signature before
    anything runs them), runs native commands (exit codes always checked) and reads switches
    passed by Packer as environment variables. Every failure throws: nothing is swallowed.
    Only the functions and variables listed in Export-ModuleMember below reach a script; the rest
    (signature check, registry plumbing, the servicing pause file) stay private to the module.
    Runs on Windows PowerShell 5.1, the interpreter of Packer's powershell provisioner.
#>
# Strict mode and the error preference hold inside the module's own scope: its functions stop on the
# first error whatever the importing script chose.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# No progress bars: they slow Invoke-WebRequest down and reach the build log as noise. Set globally so that
# the importing script's own cmdlets are quiet too (Packer's wrapper tries, but its
# `set-variable -name variable:global:ProgressPreference` creates a new variable of that name instead).
$global:ProgressPreference = 'SilentlyContinue'

# Windows seam: the machine's folders. Scripts use these, never $env:SystemRoot and friends directly.
$W365SystemRoot = $env:SystemRoot
$W365SystemDrive = $env:SystemDrive
$W365SystemDriveLetter = $(if ($null -eq $env:SystemDrive) { $null } else { $env:SystemDrive.TrimEnd(':') })
$W365ProgramData = $env:ProgramData
$W365ProgramFiles = $env:ProgramFiles
$W365UserName = $env:USERNAME
$W365InstanceMetadataUri = 'http://169.254.169.254/metadata/instance?api-version=2021-02-01'

function Write-W365Log {
    param([Parameter(Mandatory)] [string] $Message)
    $stamp = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ')
    Write-Host "[w365 $stamp] $Message"
}

function Get-W365Setting {
    <#
        Reads an environment variable set by the Packer provisioner; throws when it is missing.
        With -AllowEmpty an unset variable reads as '': Packer writes `NAME=` as $env:NAME="", and Windows
        PowerShell 5.1 (the provisioner's interpreter) deletes a variable assigned '', so an empty value
        always arrives unset.
    #>
    param(
        [Parameter(Mandatory)] [string] $Name,
        [switch] $AllowEmpty
    )
    $value = [Environment]::GetEnvironmentVariable($Name, 'Process')
    if ($null -eq $value -and $AllowEmpty) {
        return ''
    }
    if ($null -eq $value) {
        throw "Environment variable $Name is not set: run this script through the Packer template."
    }
    if (-not $AllowEmpty -and $value -eq '') {
        throw "Environment variable $Name is empty."
    }
    return $value
}

function Test-W365Enabled {
    <# Parses a boolean switch ("true"/"false") passed by Packer; anything else is an error. #>
    param([Parameter(Mandatory)] [string] $Name)
    $value = (Get-W365Setting -Name $Name).Trim().ToLowerInvariant()
    switch ($value) {
        'true' { return $true }
        'false' { return $false }
        default { throw "Environment variable $Name must be 'true' or 'false', got '$value'." }
    }
}

function Get-W365WorkDirectory {
    $dir = Get-W365Setting -Name 'W365_BUILD_DIR'
    if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
    }
    return $dir
}

function Invoke-W365Executable {
    <# Windows seam: runs a console program; its exit code is left in $LASTEXITCODE for the caller to check. #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @()
    )
    & $FilePath @ArgumentList
    # $LASTEXITCODE is left as the program set it: the caller checks it.
}

function Invoke-W365Native {
    <#
        Runs a console program with the call operator and checks $LASTEXITCODE.
        Returns the program's standard output lines; standard error goes to the build log.
    #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $AllowedExitCodes = @(0)
    )
    Write-W365Log "Running: $FilePath $($ArgumentList -join ' ')"
    $output = Invoke-W365Executable -FilePath $FilePath -ArgumentList $ArgumentList
    $exitCode = $LASTEXITCODE
    if ($AllowedExitCodes -notcontains $exitCode) {
        $text = ($output | Out-String).Trim()
        throw "$FilePath exited with code $exitCode (allowed: $($AllowedExitCodes -join ', ')). Output: $text"
    }
    return @($output)
}

function Invoke-W365Process {
    <#
        Runs a windowed installer (msiexec, setup bootstrappers) to completion and checks its
        exit code. Use Invoke-W365Native for console programs.
    #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $AllowedExitCodes = @(0)
    )
    Write-W365Log "Starting: $FilePath $($ArgumentList -join ' ')"
    $process = Start-Process -FilePath $FilePath -ArgumentList $ArgumentList -Wait -PassThru -NoNewWindow
    $exitCode = $process.ExitCode
    if ($AllowedExitCodes -notcontains $exitCode) {
        throw "$FilePath exited with code $exitCode (allowed: $($AllowedExitCodes -join ', '))."
    }
    Write-W365Log "$FilePath exited with code $exitCode."
    return $exitCode
}

function Start-W365Process {
    <# Starts a program without waiting and returns its process (HasExited, ExitCode): for waits with a deadline. #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @()
    )
    Write-W365Log "Starting: $FilePath $($ArgumentList -join ' ')"
    return (Start-Process -FilePath $FilePath -ArgumentList $ArgumentList -PassThru -NoNewWindow)
}

function Assert-W365MicrosoftSignature {
    <# Throws unless the file carries a valid Authenticode signature whose signer is Microsoft. #>
    param([Parameter(Mandatory)] [string] $Path)
    $signature = Get-AuthenticodeSignature -FilePath $Path
    if ($signature.Status -ne 'Valid') {
        throw "Signature of $Path is not valid: $($signature.Status) ($($signature.StatusMessage))."
    }
    $subject = $signature.SignerCertificate.Subject
    if ($subject -notmatch '^CN=Microsoft Corporation,' -or $subject -notmatch '(^|, )O=Microsoft Corporation(,|$)') {
        throw "Signer of $Path is not Microsoft: $subject"
    }
    Write-W365Log "Signature of $(Split-Path -Leaf $Path) is valid, signer: $subject"
}

function Invoke-W365VerifiedDownload {
    <#
        Downloads a file with retries and exponential back-off, then checks its Authenticode
        signature (Status Valid, signer Microsoft) before returning its path. Nothing downloaded
        is ever run without passing through here.
    #>
    param(
        [Parameter(Mandatory)] [string] $Uri,
        [Parameter(Mandatory)] [string] $FileName,
        [int] $Attempts = 5
    )
    $destination = Join-Path (Get-W365WorkDirectory) $FileName
    for ($attempt = 1; $attempt -le $Attempts; $attempt++) {
        try {
            Write-W365Log "Downloading $Uri (attempt $attempt of $Attempts)"
            Invoke-WebRequest -Uri $Uri -OutFile $destination -UseBasicParsing -TimeoutSec 600
            $length = (Get-Item -LiteralPath $destination).Length
            if ($length -le 0) {
                throw "Downloaded file $destination is empty."
            }
            break
        }
        catch {
            if ($attempt -ge $Attempts) {
                throw "Download of $Uri failed after $Attempts attempts: $($_.Exception.Message)"
            }
            $delay = [Math]::Min(120, 5 * [Math]::Pow(2, $attempt - 1))
            Write-W365Log "Download failed: $($_.Exception.Message). Retrying in $delay s."
            Start-Sleep -Seconds $delay
        }
    }
    Assert-W365MicrosoftSignature -Path $destination
    return $destination
}

function Test-W365RegistryKey {
    <# Windows seam: whether a registry key exists. #>
    param([Parameter(Mandatory)] [string] $Path)
    return (Test-Path -LiteralPath $Path)
}

function Get-W365RegistrySubKeyName {
    <# Windows seam: the names of a key's direct subkeys (none when the key does not exist). #>
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path)) {
        return @()
    }
    return @(Get-ChildItem -LiteralPath $Path | ForEach-Object { [string]$_.PSChildName })
}

function Set-W365RegistryValue {
    <# Windows seam: writes a registry value (DWord, String, ...), creating the key when needed. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] $Value,
        [Parameter(Mandatory)] [ValidateSet('DWord', 'String', 'QWord', 'MultiString', 'ExpandString')] [string] $Kind
    )
    if (-not (Test-Path -LiteralPath $Path)) {
        New-Item -Path $Path -Force | Out-Null
    }
    New-ItemProperty -Path $Path -Name $Name -PropertyType $Kind -Value $Value -Force | Out-Null
}

function Remove-W365RegistryValue {
    <# Windows seam: deletes a registry value when it exists. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    if ($null -ne (Get-W365RegistryKeyWithValue -Path $Path -Name $Name)) {
        Remove-ItemProperty -LiteralPath $Path -Name $Name -Force
    }
}

function Get-W365RegistryKeyWithValue {
    <# Windows seam: returns the registry key when it holds the named value, else $null. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    if (-not (Test-Path -LiteralPath $Path)) {
        return $null
    }
    $key = Get-Item -LiteralPath $Path
    if ($key.GetValueNames() -notcontains $Name) {
        return $null
    }
    return $key
}

function Get-W365RegistryValue {
    <# Returns a registry value, or $null when the key or the value does not exist. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    $key = Get-W365RegistryKeyWithValue -Path $Path -Name $Name
    if ($null -eq $key) {
        return $null
    }
    return $key.GetValue($Name, $null, 'DoNotExpandEnvironmentNames')
}

function Get-W365RegistryValueKind {
    <# Returns the registry value kind (DWord, String, ...) or $null when it does not exist. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    $key = Get-W365RegistryKeyWithValue -Path $Path -Name $Name
    if ($null -eq $key) {
        return $null
    }
    return $key.GetValueKind($Name).ToString()
}

function Get-W365FileVersion {
    <# Windows seam: the product version of a file's version resource, or $null when there is no such file. #>
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $null
    }
    return (Get-Item -LiteralPath $Path).VersionInfo.ProductVersion
}

function Get-W365UnattendPaths {
    <#
        Answer files and Panther folders that must not survive into the image. The facts script
        reports them and the sysprep script deletes them: one list for both.
    #>
    $windows = $W365SystemRoot
    return @(
        (Join-Path $windows 'Panther\Unattend.xml'),
        (Join-Path $windows 'Panther\Unattend\Unattend.xml'),
        (Join-Path $windows 'Panther\Autounattend.xml'),
        (Join-Path $windows 'System32\Sysprep\Unattend.xml'),
        (Join-Path $windows 'System32\Sysprep\Autounattend.xml'),
        (Join-Path $W365SystemDrive 'Unattend.xml'),
        (Join-Path $W365SystemDrive 'Autounattend.xml')
    )
}

function Get-W365InstalledProducts {
    <# Uninstall entries (64- and 32-bit views) whose DisplayName matches a wildcard pattern. #>
    param([Parameter(Mandatory)] [string] $DisplayNamePattern)
    $roots = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    $found = New-Object System.Collections.Generic.List[object]
    foreach ($root in $roots) {
        foreach ($subKey in @(Get-W365RegistrySubKeyName -Path $root)) {
            $path = "$root\$subKey"
            $name = Get-W365RegistryValue -Path $path -Name 'DisplayName'
            if ($null -ne $name -and $name -like $DisplayNamePattern) {
                $version = Get-W365RegistryValue -Path $path -Name 'DisplayVersion'
                $found.Add([pscustomobject]@{
                        displayName    = [string] $name
                        displayVersion = $(if ($null -eq $version) { '' } else { [string] $version })
                    })
            }
        }
    }
    return $found.ToArray()
}

function New-W365ComObject {
    <# Windows seam: creates a COM object (the Windows Update Agent API). #>
    param([Parameter(Mandatory)] [string] $ProgId)
    return (New-Object -ComObject $ProgId)
}

function Get-W365InstanceMetadata {
    <#
        The Azure instance metadata service's document for this VM (compute.storageProfile.imageReference
        holds the exact base image version, compute.securityProfile the security type). Bounded: a VM
        without the service answers nothing, and the caller records that as an error.
    #>
    return (Invoke-RestMethod -Uri $W365InstanceMetadataUri -Headers @{ Metadata = 'true' } -Method Get -TimeoutSec 10 -UseBasicParsing)
}

$W365StorePolicyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\WindowsStore'
$W365UpdateTaskPath = '\Microsoft\Windows\WindowsUpdate\'
$W365UpdateTaskName = 'Scheduled Start'

function Get-W365ServicingPauseFile {
    return (Join-Path (Get-W365WorkDirectory) 'servicing-pause.json')
}

function Suspend-W365Servicing {
    <#
        Pauses what would change the VM behind the build's back: Store auto-download (policy AutoDownload = 2)
        and the Windows Update "Scheduled Start" task (Automatic Updates). The previous state is saved for
        Resume-W365Servicing.
    #>
    $previous = [ordered]@{
        storeAutoDownload     = Get-W365RegistryValue -Path $W365StorePolicyKey -Name 'AutoDownload'
        updateTaskWasDisabled = ([string](Get-ScheduledTask -TaskPath $W365UpdateTaskPath -TaskName $W365UpdateTaskName).State -eq 'Disabled')
    }
    [System.IO.File]::WriteAllText((Get-W365ServicingPauseFile), ($previous | ConvertTo-Json), (New-Object System.Text.UTF8Encoding($false)))
    Set-W365RegistryValue -Path $W365StorePolicyKey -Name 'AutoDownload' -Kind DWord -Value 2
    Disable-ScheduledTask -TaskPath $W365UpdateTaskPath -TaskName $W365UpdateTaskName | Out-Null
    Write-W365Log 'Paused Store auto-download and the Windows Update Scheduled Start task for the build.'
}

function Resume-W365Servicing {
    <# Puts back what Suspend-W365Servicing paused, as it was before the build. #>
    $file = Get-W365ServicingPauseFile
    if (-not (Test-Path -LiteralPath $file -PathType Leaf)) {
        throw "$file is missing: the servicing pause step did not run, so there is nothing known to restore."
    }
    $previous = Get-Content -LiteralPath $file -Raw | ConvertFrom-Json
    if ($null -eq $previous.storeAutoDownload) {
        Remove-W365RegistryValue -Path $W365StorePolicyKey -Name 'AutoDownload'
    }
    else {
        Set-W365RegistryValue -Path $W365StorePolicyKey -Name 'AutoDownload' -Kind DWord -Value ([int]$previous.storeAutoDownload)
    }
    if (-not $previous.updateTaskWasDisabled) {
        Enable-ScheduledTask -TaskPath $W365UpdateTaskPath -TaskName $W365UpdateTaskName | Out-Null
    }
    Write-W365Log 'Restored Store auto-download and the Windows Update Scheduled Start task.'
}

# --- What a script sees -----------------------------------------------------------------------
# Exactly the functions the guest scripts call, and the machine's folders. Everything else above is private.
Export-ModuleMember -Variable @(
    'W365SystemRoot',
    'W365SystemDrive',
    'W365SystemDriveLetter',
    'W365ProgramData',
    'W365ProgramFiles',
    'W365UserName'
) -Function @(
    'Write-W365Log',
    'Get-W365Setting',
    'Test-W365Enabled',
    'Get-W365WorkDirectory',
    'Invoke-W365Executable',
    'Invoke-W365Native',
    'Invoke-W365Process',
    'Start-W365Process',
    'Invoke-W365VerifiedDownload',
    'Test-W365RegistryKey',
    'Get-W365RegistrySubKeyName',
    'Set-W365RegistryValue',
    'Get-W365RegistryValue',
    'Get-W365RegistryValueKind',
    'Get-W365FileVersion',
    'Get-W365UnattendPaths',
    'Get-W365InstalledProducts',
    'New-W365ComObject',
    'Get-W365InstanceMetadata',
    'Suspend-W365Servicing',
    'Resume-W365Servicing'
)

# --- The Windows seam ------------------------------------------------------------------------
# The scripts reach Windows only through the functions and variables marked "Windows seam" above and
# through Windows' own cmdlets (Appx, Storage, BitLocker, CIM, services, processes, Start-Process,
# Invoke-WebRequest, Invoke-RestMethod, Get-AuthenticodeSignature, Start-Sleep, Get-Date). The test suite
# stages a W365.Platform.ps1 beside this file that redefines them from a scenario. The template never
# uploads one: on a build VM this is a no-op.
# It is dot-sourced into the module's own scope, so what it defines replaces the module's definitions of the
# same name (the exported seam functions and variables included: an export names the module's current
# definition) and is what the module's functions call (a function of a cmdlet's name is resolved before the
# cmdlet). Its other functions are private to the module unless it exports them itself with
# Export-ModuleMember (exports add up): that is how its replacements of Windows cmdlets reach the scripts.
$w365Platform = Join-Path $PSScriptRoot 'W365.Platform.ps1'
if (Test-Path -LiteralPath $w365Platform -PathType Leaf) {
    . $w365Platform
}
