"""Claims without applying (免申即享): the medical-insurance settlement extract.

``extract`` reads and checks the file's rows (pure), ``service`` stores them and turns
inpatient stays of enrolled members into claims, links them with the claims clerks file
and applies reversals; ``checks`` gives the adjudication the settlement figures of a
clerk's claim (rule V05).
"""
