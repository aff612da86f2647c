# The default build: packer/build.pkr.hcl's whole provisioner sequence, run as Packer runs it, on a clean
# win11-25h2-ent-cpc base with the template's default variables.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Scenarios.ps1')
    . (Join-Path $PSScriptRoot 'TemplateBuild.ps1')
    . (Join-Path $PSScriptRoot 'Machines.ps1')
}

Describe 'clean win11-25h2-ent-cpc base, default variables' {
    BeforeAll {
        $machine = New-TestMachine -State (New-CleanBase)
        $steps = @(Invoke-TemplateBuild -Machine $machine -SysprepCheck)
        $state = Get-FakeMachineState -Path $machine
        $facts = Get-Content -LiteralPath (Join-Path $machine 'output/w365-facts.json') -Raw | ConvertFrom-Json
    }

    It 'runs every provisioner of the template, in order, to sysprep without a failure' {
        $failed = @($steps | Where-Object { $_.ExitCode -ne 0 } | ForEach-Object { "$($_.Name): $($_.Output)" })
        $failed | Should -BeNullOrEmpty
        $steps.Count | Should -Be (Get-TemplateStepCount)
        $steps[-1].Name | Should -Be 'powershell sysprep.ps1'
        (Get-W365RegistryState -State $state -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState') | Should -Be 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
    }

    It 'its facts match the schema and the bundled sysprep-check passes them' {
        $verdict = Get-SysprepVerdict -FactsPath (Join-Path $machine 'output/w365-facts.json')
        $verdict.Result.schemaErrors | Should -BeNullOrEmpty
        $verdict.Result.passed | Should -BeTrue
        $verdict.ExitCode | Should -Be 0
    }

    It 'empty values: remove_appx_packages = [] and run_url = "" arrive unset (Windows PowerShell 5.1) and read as empty' {
        ($steps | Where-Object Name -eq 'powershell remove-appx.ps1').Output | Should -Match 'No AppX packages to remove'
        $facts.collector.runUrl | Should -Be ''
    }

    It 'pauses Store auto-download and Automatic Updates for the build and restores them before Sysprep runs' {
        $events = @($state.events)
        $paused = [array]::IndexOf($events, 'task disabled \Microsoft\Windows\WindowsUpdate\Scheduled Start')
        $restored = [array]::IndexOf($events, 'task enabled \Microsoft\Windows\WindowsUpdate\Scheduled Start')
        $sysprep = @($events | Where-Object { $_ -like 'start sysprep.exe*' })
        $paused | Should -BeGreaterOrEqual 0
        $restored | Should -BeGreaterThan $paused
        [array]::IndexOf($events, $sysprep[0]) | Should -BeGreaterThan $restored
        $state.scheduledTasks['\Microsoft\Windows\WindowsUpdate\Scheduled Start'].state | Should -Be 'Ready'
        (Get-W365RegistryState -State $state -Path 'HKLM:\SOFTWARE\Policies\Microsoft\WindowsStore' -Name 'AutoDownload') | Should -BeNullOrEmpty
        $facts.buildVm.storeAutoDownloadPaused | Should -BeTrue
    }

    It 'cleans up components and the answer file Azure left, and the facts observe the file gone' {
        @($state.events) | Should -Contain 'run dism.exe /Online /Cleanup-Image /StartComponentCleanup'
        $panther = @($facts.unattend.files | Where-Object { $_.path -like '*Panther*Unattend.xml' })[0]
        $panther.exists | Should -BeFalse
        $panther.removedBeforeSysprep | Should -BeTrue
    }

    It 'counts Start-menu apps machine-wide (shortcuts plus provisioned packages), not as the WinRM user' {
        # 5 shortcuts in ProgramData, 4 provisioned apps of the base plus MSTeams provisioned by teams.ps1.
        $facts.startMenu.appCount | Should -Be 10
        $facts.startMenu.error | Should -BeNullOrEmpty
    }

    It 'writes the sections and fields of the TypeScript fixture test/fixtures/facts/clean-win11-25h2.json (no drift)' {
        $fixture = Get-Content -LiteralPath (Join-Path $RepositoryRoot 'test/fixtures/facts/clean-win11-25h2.json') -Raw | ConvertFrom-Json
        Get-FactsShape $facts | Should -Be (Get-FactsShape $fixture)
    }

    It 'inventories the software from both uninstall views, the provisioned apps, the updates, the UBR and the components' {
        $inventory = $facts.inventory
        $inventory.error | Should -BeNullOrEmpty
        $inventory.currentBuild | Should -Be 26200
        $inventory.ubr | Should -Be 6899
        # 64-bit view: the WebRTC MSI teams.ps1 installed; 32-bit view: Edge and the VC++ bundle; SystemComponent hidden.
        $programs = @($inventory.programs | ForEach-Object { "$($_.view)|$($_.name)|$($_.version)|$($_.publisher)" })
        $programs | Should -Contain '64-bit|Remote Desktop WebRTC Redirector Service|1.54.2408.19001|Microsoft Corporation'
        $programs | Should -Contain '32-bit|Microsoft Edge|142.0.3595.94|Microsoft Corporation'
        $programs | Should -Contain '32-bit|Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.44.35211|14.44.35211.0|Microsoft Corporation'
        @($programs | Where-Object { $_ -like '*Minimum Runtime*' -or $_ -like '*.NET Host*' }) | Should -BeNullOrEmpty
        @($inventory.appx | ForEach-Object { "$($_.name) $($_.version)" }) | Should -Be @('Microsoft.BingNews 4.55.62231.0', 'Microsoft.Paint 11.2508.361.0', 'Microsoft.WindowsNotepad 11.2508.38.0', 'Microsoft.WindowsTerminal 1.23.12811.0', 'MSTeams 25290.205.3950.9185')
        @($inventory.updates | ForEach-Object { "$($_.id) $($_.description) $($_.installedOn)" }) | Should -Be @('KB5065789 Update 2025-10-14', 'KB5066835 Security Update 2025-10-14')
        $components = $inventory.components
        $components.edge | Should -Be '142.0.3595.94'
        $components.webView2 | Should -Be '142.0.3595.94'
        $components.teams | Should -Be '25290.205.3950.9185'
        $components.oneDrive | Should -Be '25.174.0907.0003'
        $components.defenderPlatform | Should -Be '4.18.25090.3009'
        $components.defenderEngine | Should -Be '1.1.25090.3001'
        $components.webRtcRedirector | Should -Be '1.54.2408.19001'
        $components.m365Apps | Should -BeNullOrEmpty
        @($components.vcRedist | ForEach-Object { "$($_.name) $($_.version)" }) | Should -Be @('Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.44.35211 14.44.35211.0')
    }

    It 'diffs against next month''s base with the bundled `diff`: the new UBR and Edge, nothing else' {
        $next = New-CleanBase
        Set-FakeMonthlyRefresh -State $next -Ubr 7171 -HotFixId 'KB5068861' -InstalledOn '11/11/2025' -EdgeVersion '143.0.3650.66'
        $nextMachine = New-TestMachine -State $next
        $nextSteps = @(Invoke-TemplateBuild -Machine $nextMachine -Only @('teams.ps1', 'facts.ps1'))
        @($nextSteps | Where-Object { $_.ExitCode -ne 0 }) | Should -BeNullOrEmpty
        $diff = Invoke-ImageDiff -OldPath (Join-Path $machine 'output/w365-facts.json') -NewPath (Join-Path $nextMachine 'output/w365-facts.json')
        $diff.ExitCode | Should -Be 0 -Because $diff.Output
        $diff.Result.notes | Should -BeNullOrEmpty
        "$($diff.Result.build.from) -> $($diff.Result.build.to)" | Should -Be '26200.6899 -> 26200.7171'
        @($diff.Result.components | ForEach-Object { "$($_.name): $($_.from) -> $($_.to)" }) | Should -Be @('Microsoft Edge: 142.0.3595.94 -> 143.0.3650.66')
        @($diff.Result.programs.updated | ForEach-Object { "$($_.name): $($_.from) -> $($_.to)" }) | Should -Be @('Microsoft Edge (32-bit): 142.0.3595.94 -> 143.0.3650.66')
        @($diff.Result.updates.added) | Should -Be @('KB5068861')
        $diff.Result.total | Should -Be 4
    }

    It 'records the exact base version the VM booted from (instance metadata), not "latest"' {
        $facts.baseImage.exactVersion | Should -Be '26200.6899.251112'
        $facts.baseImage.sku | Should -Be 'win11-25h2-ent-cpc'
        $facts.buildVm.securityType | Should -Be 'Standard'
        $facts.buildVm.firmware | Should -Be 'UEFI'
    }
}
